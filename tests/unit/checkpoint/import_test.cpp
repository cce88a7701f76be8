// Weights into sdn: export -> import -> export keeps every tensor bit for
// bit in both formats, name maps rename, exact dtype conversions are taken,
// and every mismatch is listed in one error with nothing written.
#include "sdn/checkpoint/import.h"

#include "error_message.h"
#include "sdn/checkpoint/export.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <functional>

using sdn::testing::error_message;
namespace ck = sdn::checkpoint;
namespace fs = std::filesystem;

namespace {

using Tensors = std::vector<std::pair<std::string, torch::Tensor>>;

// The data the test networks are for: synthetic, one channel, 3 of its 4
// classes.
sdn::data::DataOptions small_data() {
  sdn::data::DataOptions d;
  d.name = "synthetic";
  d.synthetic_classes = 4;
  d.classes = {3, 0, 2};
  d.synthetic_channels = 1;
  d.val_size = 16;
  return d;
}

// A trained-looking resnet56 CNN checkpoint for small_data().
void write_cnn_checkpoint(const std::string& dir) {
  torch::manual_seed(4);
  sdn::network::NetworkOptions o;
  o.backbone.arch = "resnet56";
  o.backbone.in_channels = 1;
  o.backbone.num_classes = 3;
  o.with_ics = false;
  sdn::network::SdnNetwork network(o);
  {
    // Running statistics and counters that are not the initial ones.
    torch::NoGradGuard no_grad;
    for (auto& b : network->buffers()) {
      if (b.is_floating_point()) {
        b.uniform_(0.5, 1.5);
      } else {
        b.fill_(17);
      }
    }
  }
  ck::TrainConfig c;
  c.arch = "resnet56";
  c.mode = ck::Mode::kCnn;
  c.data = small_data();
  c.out = dir;
  ck::EpochMetrics m;
  m.epoch = 3;
  m.train_accuracy = {50};
  ck::write_checkpoint(
      dir, network, ck::make_checkpoint_meta(network, c, 3, m), "");
}

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.contiguous();
  const auto y = b.contiguous();
  return x.scalar_type() == y.scalar_type() && x.sizes() == y.sizes() &&
      std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0;
}

// Every tensor of checkpoint `dir` as sdn export writes it.
Tensors exported(const std::string& dir) {
  auto network = ck::load_network(dir);
  return ck::named_tensors(network);
}

void expect_same_tensors(const Tensors& a, const Tensors& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(same_bits(a[i].second, b[i].second)) << a[i].first;
  }
}

std::string pickle_save(const Tensors& tensors) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    dict.insert(name, tensor);
  }
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  return std::string(bytes.begin(), bytes.end());
}

ck::StateDict state_of(const Tensors& tensors) {
  ck::StateDict s;
  s.tensors = tensors;
  return s;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// `f` throws an sdn::Error whose message holds `part`.
void expect_error(const std::function<void()>& f, const std::string& part) {
  const std::string message = error_message(f);
  EXPECT_TRUE(contains(message, part))
      << "expected '" << part << "' in: " << message;
}

class Import : public ::testing::Test {
 protected:
  void SetUp() override {
    write_cnn_checkpoint(dir_.str("cnn"));
    tensors_ = exported(dir_.str("cnn"));
  }

  ck::ImportOptions options(const std::string& from, const std::string& out) {
    ck::ImportOptions o;
    o.arch = "resnet56";
    o.data = small_data();
    o.from = from;
    o.out = out;
    return o;
  }

  // What import_network says about `tensors` (renamed by `map`).
  std::string problems(const Tensors& tensors, const ck::NameMap* map) {
    return error_message([&] {
      ck::import_network(
          "resnet56", small_data(), state_of(tensors), map, "w.pt");
    });
  }

  sdn::testing::TempDir dir_{"import"};
  Tensors tensors_;
};

} // namespace

TEST_F(Import, ExportImportExportKeepsEveryTensorBitForBitInBothFormats) {
  for (const auto format :
       {ck::ExportFormat::kPytorch, ck::ExportFormat::kSafetensors}) {
    const bool pytorch = format == ck::ExportFormat::kPytorch;
    const std::string file = dir_.str(pytorch ? "w.pt" : "w.safetensors");
    const std::string out = dir_.str(pytorch ? "from_pt" : "from_st");
    ck::export_checkpoint(dir_.str("cnn"), format, file);
    const ck::CheckpointMeta meta = ck::import_checkpoint(options(file, out));
    expect_same_tensors(exported(out), tensors_);
    // A plain CNN checkpoint for the same data, epoch 0, saying where its
    // weights came from.
    EXPECT_EQ(meta.mode, ck::Mode::kCnn);
    EXPECT_FALSE(meta.with_ics);
    EXPECT_EQ(meta.epoch, 0);
    EXPECT_EQ(meta.arch, "resnet56");
    EXPECT_EQ(meta.dataset, "synthetic");
    EXPECT_EQ(meta.num_classes, 3);
    EXPECT_EQ(meta.input_shape, (std::vector<int64_t>{1, 32, 32}));
    EXPECT_EQ(meta.config.data.classes, (std::vector<int64_t>{3, 0, 2}));
    EXPECT_EQ(meta.config.data.val_size, 16);
    ASSERT_TRUE(meta.imported_from.has_value());
    EXPECT_EQ(meta.imported_from->file, file);
    EXPECT_EQ(meta.imported_from->format, pytorch ? "pytorch" : "safetensors");
    EXPECT_EQ(meta.imported_from->name_map, "");
    // Exported again, the same file: nothing changed on the way.
    const std::string again = dir_.str(pytorch ? "again.pt" : "again.st");
    ck::export_checkpoint(out, format, again);
    if (pytorch) {
      EXPECT_EQ(sdn::read_file(again), sdn::read_file(file));
    } else {
      expect_same_tensors(
          ck::decode_safetensors(sdn::read_file(again), again).tensors,
          ck::decode_safetensors(sdn::read_file(file), file).tensors);
    }
  }
}

TEST_F(Import, ANameMapRenamesTheFilesNames) {
  // The file calls the backbone "model." and its final layer "head.", but
  // keeps sdn's name for its first tensor, which the map does not list
  // (names it does not list are taken as they are).
  Tensors theirs;
  std::string map_text = "# theirs   ours\n\n";
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const auto& [name, tensor] = tensors_[i];
    if (i == 0) {
      theirs.emplace_back(name, tensor);
      continue;
    }
    std::string other = "model." + name.substr(std::string("backbone.").size());
    if (name.rfind("backbone.fc.", 0) == 0) {
      other = "head." + name.substr(std::string("backbone.fc.").size());
    }
    theirs.emplace_back(other, tensor);
    map_text += other + "\t" + name + "   # renamed\n";
  }
  const std::string map_file = dir_.str("map.txt");
  sdn::write_file_atomic(map_file, map_text);
  sdn::write_file_atomic(dir_.str("renamed.pt"), pickle_save(theirs));
  auto o = options(dir_.str("renamed.pt"), dir_.str("renamed"));
  o.name_map = map_file;
  const auto meta = ck::import_checkpoint(o);
  expect_same_tensors(exported(dir_.str("renamed")), tensors_);
  EXPECT_EQ(meta.imported_from->name_map, map_file);
  // Without the map, only the first tensor matches.
  const std::string msg = problems(theirs, nullptr);
  EXPECT_TRUE(contains(
      msg, std::to_string(2 * (tensors_.size() - 1)) + " problems loading"))
      << msg; // every other tensor unexpected under its name, and missing
  EXPECT_TRUE(contains(msg, "unexpected 'head.weight'")) << msg;
  EXPECT_FALSE(contains(msg, tensors_[0].first)) << msg;
  EXPECT_FALSE(contains(msg, "no name matches")) << msg;
}

TEST_F(Import, EveryMismatchIsListedInOneErrorAndNothingIsWritten) {
  Tensors t = tensors_;
  const auto find = [&t](const std::string& name) {
    return std::find_if(
        t.begin(), t.end(), [&](const auto& x) { return x.first == name; });
  };
  // Missing: a weight and a BatchNorm counter.
  t.erase(find("backbone.blocks.0.conv1.weight"));
  t.erase(find("backbone.stem_bn.num_batches_tracked"));
  // Unexpected: a tensor sdn's network lacks (an SDN's IC).
  t.emplace_back("ic0.linear.weight", torch::zeros({3, 16}));
  // Wrong shape: the final layer for 10 classes.
  find("backbone.fc.weight")->second = torch::zeros({10, 64});
  // Dtypes: float64 that float32 cannot hold, bool, a float counter.
  find("backbone.fc.bias")->second =
      torch::tensor({0.1, 0.2, 0.3}, torch::kFloat64);
  find("backbone.stem_bn.weight")->second = torch::ones({16}, torch::kBool);
  find("backbone.blocks.0.bn1.num_batches_tracked")->second =
      torch::tensor(1.0f);
  // A value that is not finite.
  find("backbone.stem_bn.bias")->second =
      find("backbone.stem_bn.bias")->second.clone();
  find("backbone.stem_bn.bias")->second[2] = NAN;
  // A negative running variance.
  find("backbone.stem_bn.running_var")->second =
      -torch::ones({16}, torch::kFloat32);
  // A name map: one line for a name the file lacks, one that makes two
  // tensors of one name.
  const ck::NameMap map = ck::parse_name_map(
      "no.such.tensor backbone.x\n"
      "backbone.blocks.1.bn1.bias backbone.blocks.1.bn1.weight\n",
      "map.txt");
  const std::string msg = problems(t, &map);
  const std::vector<std::string> lines = {
      "w.pt: 12 problems loading it into sdn's resnet56 CNN for synthetic (3 "
      "classes, 1x32x32 inputs), names after the name map map.txt:",
      "  name map line 1: the file holds no 'no.such.tensor'",
      "  two tensors become 'backbone.blocks.1.bn1.weight': "
      "'backbone.blocks.1.bn1.weight' and 'backbone.blocks.1.bn1.bias' (name "
      "map line 2)",
      "  unexpected 'ic0.linear.weight' (float32 [3, 16]): sdn's network has "
      "no such tensor",
      "  missing 'backbone.blocks.0.conv1.weight' (float32 [16, 16, 3, 3])",
      "  missing 'backbone.blocks.1.bn1.bias' (float32 [16])",
      "  missing 'backbone.stem_bn.num_batches_tracked' (int64 []) (a "
      "BatchNorm's step counter",
      "  shape of 'backbone.fc.weight': [10, 64] in the file, sdn's is [3, 64]",
      "  dtype of 'backbone.blocks.0.bn1.num_batches_tracked': float32, sdn's "
      "is int64",
      "  dtype of 'backbone.fc.bias': float64 with values float32 cannot hold "
      "exactly, sdn's is float32",
      "  dtype of 'backbone.stem_bn.weight': bool, sdn's is float32",
      "  values of 'backbone.stem_bn.bias': not all finite (NaN or infinity)",
      "  values of 'backbone.stem_bn.running_var': negative (a BatchNorm's "
      "running variance and step count are at least 0)"};
  size_t at = 0;
  for (const std::string& line : lines) {
    const size_t found = msg.find(line, at);
    EXPECT_NE(found, std::string::npos) << "in order: " << line << "\n" << msg;
    at = found == std::string::npos ? at : found + line.size();
  }
  // Through the command: the same error, and no --out.
  sdn::write_file_atomic(dir_.str("bad.pt"), pickle_save(t));
  const std::string out = dir_.str("out");
  const std::string cmd = error_message(
      [&] { ck::import_checkpoint(options(dir_.str("bad.pt"), out)); });
  EXPECT_TRUE(contains(cmd, dir_.str("bad.pt") + ": 9 problems")) << cmd;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".lock"));
}

TEST_F(Import, LongListsAreCutAndNoMatchAtAllGetsAHint) {
  Tensors foreign;
  for (int i = 0; i < 30; ++i) {
    foreign.emplace_back("layer" + std::to_string(i), torch::zeros({1}));
  }
  const std::string msg = problems(foreign, nullptr);
  // 30 unexpected, and every one of the network's tensors missing.
  const size_t missing = tensors_.size();
  EXPECT_TRUE(contains(msg, std::to_string(30 + missing) + " problems"));
  EXPECT_TRUE(contains(
      msg, "  ... and " + std::to_string(30 + missing - 50) + " more"));
  EXPECT_EQ(
      std::count(msg.begin(), msg.end(), '\n'),
      1 + static_cast<long>(ck::kMaxListedProblems) + 1);
  EXPECT_TRUE(contains(msg, "(no name matches: sdn's names are in "));
}

TEST_F(Import, ExactDtypeConversionsAreTaken) {
  Tensors t;
  for (const auto& [name, tensor] : tensors_) {
    // float64 holding float32 values; int32 counters.
    t.emplace_back(
        name,
        tensor.is_floating_point() ? tensor.to(torch::kFloat64) :
                                     tensor.to(torch::kInt32));
  }
  auto network = ck::import_network(
      "resnet56", small_data(), state_of(t), nullptr, "w.pt");
  expect_same_tensors(ck::named_tensors(network), tensors_);
  // float16 and bfloat16 widen exactly.
  for (const auto type : {torch::kFloat16, torch::kBFloat16}) {
    Tensors half;
    for (const auto& [name, tensor] : tensors_) {
      half.emplace_back(
          name, tensor.is_floating_point() ? tensor.to(type) : tensor);
    }
    network = ck::import_network(
        "resnet56", small_data(), state_of(half), nullptr, "w.pt");
    const auto got = ck::named_tensors(network);
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(same_bits(
          got[i].second, half[i].second.to(got[i].second.scalar_type())))
          << got[i].first;
    }
  }
}

TEST_F(Import, TheOutputFolderMustBeNewOrEmpty) {
  const std::string file = dir_.str("w.pt");
  ck::export_checkpoint(dir_.str("cnn"), ck::ExportFormat::kPytorch, file);
  // A checkpoint there is never replaced.
  expect_error(
      [&] { ck::import_checkpoint(options(file, dir_.str("cnn"))); },
      "--out " + dir_.str("cnn") + " already holds a checkpoint");
  sdn::make_dirs(dir_.str("busy"));
  sdn::write_file_atomic(dir_.str("busy/notes.txt"), "mine");
  expect_error(
      [&] { ck::import_checkpoint(options(file, dir_.str("busy"))); },
      "holds 'notes.txt', which this command does not write");
  sdn::write_file_atomic(dir_.str("plain"), "a file");
  expect_error(
      [&] { ck::import_checkpoint(options(file, dir_.str("plain"))); },
      "exists and is not a directory");
  // An empty folder is filled.
  sdn::make_dirs(dir_.str("empty"));
  ck::import_checkpoint(options(file, dir_.str("empty")));
  expect_same_tensors(exported(dir_.str("empty")), tensors_);
  // Options that describe no network.
  auto o = options(file, dir_.str("x"));
  o.arch = "resnet9";
  EXPECT_TRUE(
      contains(error_message([&] { ck::import_checkpoint(o); }), "resnet9"));
  o = options(file, dir_.str("x"));
  o.data.synthetic_classes = 5;
  o.data.classes.clear();
  expect_error(
      [&] { ck::import_checkpoint(o); },
      "shape of 'backbone.fc.weight': [3, 64] in the file, sdn's is [5, 64]");
  expect_error(
      [&] {
        ck::import_checkpoint(options(dir_.str("none.pt"), dir_.str("x")));
      },
      dir_.str("none.pt"));
  // A file larger than any state_dict is refused before it is read (a
  // sparse file: nothing is allocated on disk).
  const std::string huge = dir_.str("huge.pt");
  sdn::write_file_atomic(huge, "");
  fs::resize_file(huge, (uintmax_t{1} << 30) + 1);
  expect_error(
      [&] { ck::import_checkpoint(options(huge, dir_.str("x"))); },
      "--from " + huge + ": 1073741825 bytes, more than the 1 GiB");
  EXPECT_FALSE(fs::exists(dir_.str("x")));
}

TEST(NameMap, ParsesPairsCommentsAndBlankLines) {
  const ck::NameMap map = ck::parse_name_map(
      "# file name      sdn name\n"
      "\n"
      "conv1.weight backbone.stem_conv.weight\n"
      "  bn1.bias\t\tbackbone.stem_bn.bias  # trailing comment\r\n",
      "m.txt");
  EXPECT_EQ(map.source, "m.txt");
  ASSERT_EQ(map.entries.size(), 2u);
  EXPECT_EQ(map.entries[0].theirs, "conv1.weight");
  EXPECT_EQ(map.entries[0].ours, "backbone.stem_conv.weight");
  EXPECT_EQ(map.entries[0].line, 3);
  EXPECT_EQ(map.entries[1].theirs, "bn1.bias");
  EXPECT_EQ(map.entries[1].ours, "backbone.stem_bn.bias");
  EXPECT_EQ(map.entries[1].line, 4);
  // A byte order mark is not part of the first name.
  const ck::NameMap bom = ck::parse_name_map(
      "\xEF\xBB\xBF"
      "conv1.weight backbone.x\n",
      "m.txt");
  EXPECT_EQ(bom.entries.at(0).theirs, "conv1.weight");
}

TEST(NameMap, MalformedOrDuplicateLinesNameFileAndLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a b\nc\n",
       "m.txt:2: expected two names (the file's, then sdn's), "
       "found 1"},
      {"a b c\n",
       "m.txt:1: expected two names (the file's, then sdn's), "
       "found 3"},
      {"a b\n# x\na c\n", "m.txt:3: 'a' is already mapped on line 1"},
      {"a b\nc b\n", "m.txt:2: 'b' is already the sdn name of line 1"},
      {"a\x1b[31m b\na\x1b[31m c\n",
       "m.txt:2: 'a\\x1b[31m' is already mapped on line 1"},
      {"# nothing\n\n", "m.txt: holds no pair of names"},
      {"", "m.txt: holds no pair of names"}};
  for (const auto& [text, expected] : cases) {
    // A plain reference: C++17 lambdas cannot capture a structured binding
    // (gcc allows it, clang and so the sanitizer build refuse it).
    const std::string& lines = text;
    const std::string msg =
        error_message([&] { ck::parse_name_map(lines, "m.txt"); });
    EXPECT_TRUE(contains(msg, expected)) << text << "\n  gave: " << msg;
  }
}
