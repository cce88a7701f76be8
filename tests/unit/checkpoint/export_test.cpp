// Weights out of sdn: the safetensors encoder and decoder, the names and
// metadata, and both export formats read back bit for bit.
#include "sdn/checkpoint/export.h"

#include "error_message.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/serialize.h>
#include <torch/torch.h>

using sdn::testing::error_message;
namespace ck = sdn::checkpoint;

namespace {

void write_small_checkpoint(const std::string& dir) {
  torch::manual_seed(4);
  sdn::network::NetworkOptions o;
  o.backbone.arch = "mobilenet";
  o.backbone.in_channels = 1;
  o.backbone.num_classes = 3;
  sdn::network::SdnNetwork network(o);
  ck::TrainConfig c;
  c.arch = "mobilenet";
  c.mode = ck::Mode::kSdn;
  c.data.name = "synthetic";
  c.data.synthetic_classes = 4;
  c.data.classes = {3, 0, 2};
  c.data.synthetic_channels = 1;
  c.out = dir;
  ck::EpochMetrics m;
  m.epoch = 2;
  m.train_accuracy.assign(static_cast<size_t>(network->num_exits()), 0.0);
  ck::write_checkpoint(
      dir, network, ck::make_checkpoint_meta(network, c, 2, m), "");
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(Safetensors, RoundTripKeepsNamesShapesBitsAndMetadata) {
  const std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"b.weight", torch::randn({3, 2})},
      {"a.count", torch::tensor({7}, torch::kInt64)},
      {"scalar", torch::tensor(2.5f)},
      {"empty", torch::zeros({0, 4})}};
  const std::string bytes =
      ck::encode_safetensors(tensors, {{"arch", "vgg16"}});
  // The header length is little-endian and the data 8-byte aligned.
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) {
    n = (n << 8) | uint8_t(bytes[size_t(i)]);
  }
  EXPECT_EQ(n % 8, 0u);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["b.weight"]["dtype"], "F32");
  EXPECT_EQ(header["a.count"]["dtype"], "I64");
  EXPECT_EQ(header["__metadata__"]["arch"], "vgg16");
  const ck::Safetensors back = ck::decode_safetensors(bytes, "x");
  ASSERT_EQ(back.tensors.size(), 4u);
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, tensors[i].first); // data order
    EXPECT_TRUE(torch::equal(back.tensors[i].second, tensors[i].second));
    EXPECT_EQ(back.tensors[i].second.sizes(), tensors[i].second.sizes());
  }
  EXPECT_EQ(back.metadata.at("arch"), "vgg16");
}

TEST(Safetensors, AnEmptyTensorWhereAnotherStartsIsRead) {
  // "z" (empty) sits at the offset where "a" starts; the header lists "a"
  // first (JSON keys in order), so only an order by (begin, end) covers the
  // data without a gap (the safetensors package writes such files).
  const std::string bytes = ck::encode_safetensors(
      {{"z", torch::zeros({0})}, {"a", torch::ones({2})}}, {});
  const ck::Safetensors back = ck::decode_safetensors(bytes, "x");
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[0].first, "z");
  EXPECT_TRUE(torch::equal(back.tensors[1].second, torch::ones({2})));
}

TEST(Safetensors, BadFilesAreErrorsNamingTheProblem) {
  const std::string good = ck::encode_safetensors(
      {{"w", torch::ones({2, 2})}, {"v", torch::ones({3})}}, {});
  EXPECT_TRUE(contains(
      error_message([&] { ck::decode_safetensors("abc", "f"); }),
      "f: not a safetensors file"));
  EXPECT_TRUE(contains(
      error_message([&] {
        ck::decode_safetensors(good.substr(0, good.size() - 4), "f");
      }),
      "outside"));
  std::string huge = good;
  huge[7] = char(0x7f);
  EXPECT_TRUE(contains(
      error_message([&] { ck::decode_safetensors(huge, "f"); }),
      "runs past the end"));
  auto with_header = [&](const std::string& json, size_t data) {
    std::string h = json;
    std::string out(8, '\0');
    out[0] = char(h.size());
    return out + h + std::string(data, '\0');
  };
  EXPECT_TRUE(contains(
      error_message(
          [&] { ck::decode_safetensors(with_header("{nope", 0), "f"); }),
      "not JSON"));
  EXPECT_TRUE(contains(
      error_message([&] {
        ck::decode_safetensors(
            with_header(
                R"({"w":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}})", 1),
            "f");
      }),
      "unknown dtype 'Q8'"));
  EXPECT_TRUE(contains(
      error_message([&] {
        ck::decode_safetensors(
            with_header(
                R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4),
            "f");
      }),
      "expected 8"));
  EXPECT_TRUE(contains(
      error_message([&] {
        ck::decode_safetensors(
            with_header(
                R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2),
            "f");
      }),
      "starts at data byte 1"));
  EXPECT_TRUE(contains(
      error_message([&] {
        ck::decode_safetensors(
            with_header(
                R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 3),
            "f");
      }),
      "2 bytes after"));
  // A bool is 0 or 1: any other byte would be undefined behaviour to read.
  EXPECT_TRUE(contains(
      error_message([&] {
        ck::decode_safetensors(
            with_header(
                R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})",
                0) +
                std::string("\x01\x02", 2),
            "f");
      }),
      "f: BOOL tensor 'm' holds bytes other than 0 and 1"));
  EXPECT_TRUE(contains(
      error_message([&] {
        ck::decode_safetensors(
            with_header(R"({"w":{"dtype":"U8","shape":[1]}})", 1), "f");
      }),
      "tensor 'w'"));
  EXPECT_TRUE(contains(
      error_message([&] {
        ck::encode_safetensors({{"h", torch::ones({1}, torch::kFloat16)}}, {});
      }),
      "expected float32 or int64"));
  EXPECT_TRUE(contains(
      error_message([&] {
        ck::encode_safetensors(
            {{"a", torch::ones({1})}, {"a", torch::ones({1})}}, {});
      }),
      "two tensors named 'a'"));
  EXPECT_TRUE(contains(
      error_message([&] { ck::parse_export_format("onnx"); }),
      "--format must be safetensors or pytorch"));
}

TEST(Export, BothFormatsHoldEveryTensorUnderItsName) {
  sdn::testing::TempDir dir("export");
  write_small_checkpoint(dir.str("ckpt"));
  ck::CheckpointMeta meta;
  auto network = ck::load_network(dir.str("ckpt"), meta);
  const auto tensors = ck::named_tensors(network);
  EXPECT_EQ(
      tensors.size(),
      network->named_parameters().size() + network->named_buffers().size());
  EXPECT_TRUE(std::any_of(tensors.begin(), tensors.end(), [](const auto& t) {
    return t.first.rfind("ic0.", 0) == 0;
  }));
  ck::export_checkpoint(
      dir.str("ckpt"),
      ck::ExportFormat::kSafetensors,
      dir.str("w.safetensors"));
  const auto st =
      ck::decode_safetensors(sdn::read_file(dir.str("w.safetensors")), "w");
  ASSERT_EQ(st.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(st.tensors[i].first, tensors[i].first);
    EXPECT_TRUE(torch::equal(st.tensors[i].second, tensors[i].second))
        << tensors[i].first;
  }
  EXPECT_EQ(st.metadata.at("arch"), "mobilenet");
  EXPECT_EQ(st.metadata.at("classes"), "[3,0,2]");
  EXPECT_EQ(st.metadata.at("num_classes"), "3");
  EXPECT_EQ(st.metadata.at("input_shape"), "[1,32,32]");
  EXPECT_EQ(st.metadata.at("class_names"), R"(["3","0","2"])");
  ck::export_checkpoint(
      dir.str("ckpt"), ck::ExportFormat::kPytorch, dir.str("w.pt"));
  const std::string pt = sdn::read_file(dir.str("w.pt"));
  const auto dict = torch::pickle_load(std::vector<char>(pt.begin(), pt.end()))
                        .toGenericDict();
  ASSERT_EQ(dict.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    EXPECT_TRUE(torch::equal(dict.at(name).toTensor(), tensor)) << name;
  }
  EXPECT_TRUE(contains(
      error_message([&] {
        ck::export_checkpoint(
            dir.str("none"), ck::ExportFormat::kPytorch, dir.str("x.pt"));
      }),
      "none"));
  EXPECT_FALSE(sdn::path_exists(dir.str("x.pt")));
  // Never into the checkpoint itself: its files stay as they were.
  const std::string model = sdn::read_file(dir.str("ckpt/model.pt"));
  for (const char* inside : {"ckpt/model.pt", "ckpt/w.pt", "ckpt/./sub/w.pt"}) {
    EXPECT_TRUE(contains(
        error_message([&] {
          ck::export_checkpoint(
              dir.str("ckpt"), ck::ExportFormat::kPytorch, dir.str(inside));
        }),
        "inside the checkpoint"))
        << inside;
  }
  EXPECT_EQ(sdn::read_file(dir.str("ckpt/model.pt")), model);
  EXPECT_FALSE(sdn::path_exists(dir.str("ckpt/w.pt")));
}

// What an export killed with -9 left beside OUT (OUT.tmp.N) goes with the
// next export of OUT; other files stay.
TEST(Export, AKilledExportsTemporaryIsRemoved) {
  sdn::testing::TempDir dir("export_temporary");
  write_small_checkpoint(dir.str("ckpt"));
  sdn::write_file_atomic(dir.str("w.pt.tmp.123456"), "half");
  sdn::write_file_atomic(dir.str("w.pt.keep"), "mine");
  ck::export_checkpoint(
      dir.str("ckpt"), ck::ExportFormat::kPytorch, dir.str("w.pt"));
  EXPECT_FALSE(sdn::path_exists(dir.str("w.pt.tmp.123456")));
  EXPECT_EQ(sdn::read_file(dir.str("w.pt.keep")), "mine");
  EXPECT_TRUE(sdn::path_exists(dir.str("w.pt")));
}
