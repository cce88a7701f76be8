// Reading state_dict files: PyTorch zip files as Python's torch.save and
// torch::pickle_save write them (dicts and OrderedDicts of tensors), and
// safetensors, picked by content; every kind of bad file is an error naming
// it.
#include "sdn/checkpoint/state_dict.h"

#include "error_message.h"
#include "sdn/checkpoint/export.h"
#include "sdn/util/error.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <cstring>
#include <functional>
#include <map>

using sdn::testing::error_message;
namespace ck = sdn::checkpoint;

namespace {

// data.pkl of this Python (PyTorch 1.13), torch.save's pickle of an
// OrderedDict with a view sharing a storage, an int64 scalar, a Parameter
// and the `_metadata` attribute every state_dict carries:
//   base = torch.tensor([1.5, -2.0, 3.25, 4.0])
//   sd = collections.OrderedDict()
//   sd["conv.weight"] = base; sd["conv.view"] = base[1:3]
//   sd["bn.num_batches_tracked"] = torch.tensor(7)
//   sd["p"] = torch.nn.Parameter(torch.tensor([[0.5, 0.25]]))
//   sd._metadata = collections.OrderedDict(
//       [("", {"version": 1}), ("bn", {"version": 2})])
//   torch.save(sd, "fixture.pt")
const char kOrderedDictPickle[] =
    "\200\002ccollections\012OrderedDict\012q\000)Rq\001(X\013\000\000\000c"
    "onv.weightq\002ctorch._utils\012_rebuild_tensor_v2\012q\003((X\007\000"
    "\000\000storageq\004ctorch\012FloatStorage\012q\005X\001\000\000\0000q"
    "\006X\003\000\000\000cpuq\007K\004tq\010QK\000K\004\205q\011K\001\205q"
    "\012\211h\000)Rq\013tq\014Rq\015X\011\000\000\000conv.viewq\016h\003(("
    "h\004h\005h\006h\007K\004tq\017QK\001K\002\205q\020K\001\205q\021\211h"
    "\000)Rq\022tq\023Rq\024X\026\000\000\000bn.num_batches_trackedq\025h"
    "\003((h\004ctorch\012LongStorage\012q\026X\001\000\000\0001q\027h\007K"
    "\001tq\030QK\000))\211h\000)Rq\031tq\032Rq\033X\001\000\000\000pq\034c"
    "torch._utils\012_rebuild_parameter\012q\035h\003((h\004h\005X\001\000"
    "\000\0002q\036h\007K\002tq\037QK\000K\001K\002\206q K\002K\001\206q!"
    "\211h\000)Rq\042tq#Rq$\210h\000)Rq%\207q&Rq'u}q(X\011\000\000\000_meta"
    "dataq)h\000)Rq*(X\000\000\000\000q+}q,X\007\000\000\000versionq-K\001s"
    "X\002\000\000\000bnq.}q/h-K\002susb.";

std::string bytes_of(const torch::Tensor& t) {
  return std::string(static_cast<const char*>(t.data_ptr()), t.nbytes());
}

// A PyTorch zip file (as torch.save lays it out) of `records`.
std::string zip_of(const std::map<std::string, std::string>& records) {
  std::string out;
  {
    caffe2::serialize::PyTorchStreamWriter writer(
        [&out](const void* data, size_t n) {
          out.append(static_cast<const char*>(data), n);
          return n;
        });
    for (const auto& [name, bytes] : records) {
      writer.writeRecord(name, bytes.data(), bytes.size());
    }
    writer.writeEndOfFile();
  }
  return out;
}

// The records of the Python file above: its pickle and three storages.
std::map<std::string, std::string> fixture_records() {
  return {
      {"data.pkl",
       std::string(kOrderedDictPickle, sizeof(kOrderedDictPickle) - 1)},
      {"data/0", bytes_of(torch::tensor({1.5f, -2.0f, 3.25f, 4.0f}))},
      {"data/1", bytes_of(torch::tensor({int64_t{7}}))},
      {"data/2", bytes_of(torch::tensor({0.5f, 0.25f}))}};
}

std::string pickle_save(const c10::IValue& value) {
  const std::vector<char> bytes = torch::pickle_save(value);
  return std::string(bytes.begin(), bytes.end());
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

} // namespace

TEST(ReadTorchZip, ReadsPythonsOrderedDictWithViewsAndParameters) {
  const auto tensors = ck::read_torch_zip(zip_of(fixture_records()), "f.pt");
  ASSERT_EQ(tensors.size(), 4u);
  EXPECT_EQ(tensors[0].first, "conv.weight"); // the dict's order
  EXPECT_EQ(tensors[1].first, "conv.view");
  EXPECT_EQ(tensors[2].first, "bn.num_batches_tracked");
  EXPECT_EQ(tensors[3].first, "p");
  EXPECT_TRUE(torch::equal(
      tensors[0].second, torch::tensor({1.5f, -2.0f, 3.25f, 4.0f})));
  // The view: offset 1, two elements, a tensor of its own.
  EXPECT_TRUE(torch::equal(tensors[1].second, torch::tensor({-2.0f, 3.25f})));
  EXPECT_EQ(tensors[1].second.storage_offset(), 0);
  EXPECT_EQ(tensors[2].second.scalar_type(), torch::kInt64);
  EXPECT_EQ(tensors[2].second.dim(), 0);
  EXPECT_EQ(tensors[2].second.item<int64_t>(), 7);
  EXPECT_TRUE(torch::equal(tensors[3].second, torch::tensor({{0.5f, 0.25f}})));
  EXPECT_FALSE(tensors[3].second.requires_grad());
}

TEST(ReadTorchZip, ReadsPickleSaveDictsBitForBitInEveryDtype) {
  torch::manual_seed(3);
  c10::Dict<std::string, torch::Tensor> dict;
  const std::vector<std::pair<std::string, torch::Tensor>> given = {
      {"f32", torch::randn({2, 3})},
      {"f64", torch::randn({3}, torch::kFloat64)},
      {"f16", torch::randn({2}).to(torch::kFloat16)},
      {"bf16", torch::randn({2}).to(torch::kBFloat16)},
      {"i64", torch::tensor({int64_t{-5}, int64_t{1} << 40})},
      {"i32", torch::tensor({-3, 4}, torch::kInt32)},
      {"u8", torch::tensor({0, 255}, torch::kUInt8)},
      {"bool", torch::tensor({true, false})},
      {"scalar", torch::tensor(2.5f)},
      {"empty", torch::zeros({0, 4})},
      {"transposed", torch::randn({3, 2}).t()},
      {"negative zero", torch::tensor({-0.0f, 0.0f})}};
  for (const auto& [name, tensor] : given) {
    dict.insert(name, tensor);
  }
  const auto tensors =
      ck::read_torch_zip(pickle_save(c10::IValue(dict)), "w.pt");
  ASSERT_EQ(tensors.size(), given.size());
  for (size_t i = 0; i < given.size(); ++i) {
    const auto& [name, want] = given[i];
    EXPECT_EQ(tensors[i].first, name);
    const torch::Tensor& got = tensors[i].second;
    EXPECT_EQ(got.scalar_type(), want.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), want.sizes()) << name;
    EXPECT_TRUE(got.is_contiguous()) << name;
    EXPECT_EQ(bytes_of(got), bytes_of(want.contiguous())) << name;
  }
}

TEST(ReadTorchZip, WhatIsNotADictOfTensorsIsAnErrorNamingTheFile) {
  c10::impl::GenericList list(c10::AnyType::get());
  list.push_back(torch::ones({1}));
  list.push_back(int64_t{2});
  expect_error(
      [&] { ck::read_torch_zip(pickle_save(c10::IValue(list)), "l.pt"); },
      "l.pt: holds a list, expected a dict of names to tensors");
  // TorchScript's specialised lists are Python objects sdn does not read.
  const std::string tensors = pickle_save(c10::IValue(
      c10::List<torch::Tensor>({torch::ones({1}), torch::ones({2})})));
  expect_error(
      [&] { ck::read_torch_zip(tensors, "t.pt"); },
      "t.pt: holds an object made by Python's "
      "torch.jit._pickle.build_tensorlist, which sdn does not read");
  c10::Dict<std::string, int64_t> numbers;
  numbers.insert("n", 3);
  expect_error(
      [&] { ck::read_torch_zip(pickle_save(c10::IValue(numbers)), "n.pt"); },
      "n.pt: 'n' holds an int, expected a tensor");
  c10::Dict<int64_t, torch::Tensor> by_number;
  by_number.insert(4, torch::ones({1}));
  expect_error(
      [&] { ck::read_torch_zip(pickle_save(c10::IValue(by_number)), "k.pt"); },
      "k.pt: a key of its dict is an int, expected a name");
  c10::impl::GenericDict nested(c10::StringType::get(), c10::AnyType::get());
  c10::Dict<std::string, torch::Tensor> inner;
  inner.insert("w", torch::ones({1}));
  nested.insert("state_dict", inner);
  expect_error(
      [&] { ck::read_torch_zip(pickle_save(c10::IValue(nested)), "c.pt"); },
      "c.pt: 'state_dict' holds a dict, expected a tensor");
}

TEST(ReadTorchZip, BrokenFilesAreErrorsNamingTheFile) {
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("w", torch::ones({64}));
  const std::string good = pickle_save(c10::IValue(dict));
  expect_error(
      [&] { ck::read_torch_zip(good.substr(0, good.size() / 2), "t.pt"); },
      "t.pt: not a readable PyTorch zip file (");
  expect_error(
      [&] { ck::read_torch_zip("PK\x03\x04junk", "j.pt"); },
      "j.pt: not a readable PyTorch zip file (");
  // A storage record missing, or shorter than the pickle says.
  auto records = fixture_records();
  records.erase("data/2");
  expect_error(
      [&] { ck::read_torch_zip(zip_of(records), "m.pt"); },
      "m.pt: the archive has no record 'data/2'");
  records = fixture_records();
  records["data/0"].resize(12);
  expect_error(
      [&] { ck::read_torch_zip(zip_of(records), "s.pt"); },
      "s.pt: record 'data/0' holds 12 bytes, but the pickle says 4 elements");
  // A view reaching past its storage: conv.view's size 2 made 4.
  records = fixture_records();
  std::string& pickle = records["data.pkl"];
  const std::string size_two("K\002\205q\020", 5);
  ASSERT_NE(pickle.find(size_two), std::string::npos);
  pickle.replace(pickle.find(size_two), 5, std::string("K\004\205q\020", 5));
  expect_error(
      [&] { ck::read_torch_zip(zip_of(records), "v.pt"); },
      "v.pt: a tensor of size [4], stride [1] and offset 1 reaches past its "
      "storage of 4 elements");
  // The pickle cut short, an opcode a state_dict never uses, and a Python
  // object that is not a tensor.
  records = fixture_records();
  records["data.pkl"].resize(300);
  expect_error(
      [&] { ck::read_torch_zip(zip_of(records), "p.pt"); },
      "p.pt: the pickle ends early");
  records["data.pkl"] = "\200\002I42\n.";
  expect_error(
      [&] { ck::read_torch_zip(zip_of(records), "o.pt"); },
      "o.pt: pickle opcode 0x49 at byte 2 is not one a state_dict uses");
  records["data.pkl"] = "\200\002cnumpy\nndarray\n)R.";
  expect_error(
      [&] { ck::read_torch_zip(zip_of(records), "np.pt"); },
      "np.pt: holds an object made by Python's numpy.ndarray, which sdn does "
      "not read");
  records["data.pkl"] = "\200\002h\007.";
  expect_error(
      [&] { ck::read_torch_zip(zip_of(records), "g.pt"); },
      "g.pt: malformed pickle (memo 7 read at byte 2 was never stored)");
  // A zip without data.pkl; PyTorch's legacy format; a TorchScript archive
  // (an sdn checkpoint's model.pt).
  expect_error(
      [&] {
        ck::read_torch_zip(zip_of({{"other", "x"}}), "z.pt");
      },
      "z.pt: a zip file without data.pkl");
  expect_error(
      [&] {
        ck::read_torch_zip(
            std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46", 8), "old.pt");
      },
      "old.pt: PyTorch's legacy format");
  std::ostringstream module_bytes;
  torch::save(torch::nn::Linear(2, 3), module_bytes);
  expect_error(
      [&] { ck::read_torch_zip(module_bytes.str(), "model.pt"); },
      "model.pt: a TorchScript archive");
}

TEST(ReadStateDict, PicksTheFormatByContentNotByName) {
  const std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"w", torch::randn({2, 2})}, {"n", torch::tensor(int64_t{3})}};
  const std::string st = ck::encode_safetensors(tensors, {{"arch", "x"}});
  const ck::StateDict a = ck::read_state_dict(st, "weights.pt");
  EXPECT_EQ(a.format, ck::StateDictFormat::kSafetensors);
  EXPECT_EQ(ck::state_dict_format_name(a.format), "safetensors");
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    dict.insert(name, tensor);
  }
  const ck::StateDict b =
      ck::read_state_dict(pickle_save(c10::IValue(dict)), "w.safetensors");
  EXPECT_EQ(b.format, ck::StateDictFormat::kPytorch);
  EXPECT_EQ(ck::state_dict_format_name(b.format), "pytorch");
  ASSERT_EQ(a.tensors.size(), 2u);
  ASSERT_EQ(b.tensors.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(a.tensors[i].first, tensors[i].first);
    EXPECT_EQ(b.tensors[i].first, tensors[i].first);
    EXPECT_EQ(bytes_of(a.tensors[i].second), bytes_of(tensors[i].second));
    EXPECT_EQ(bytes_of(b.tensors[i].second), bytes_of(tensors[i].second));
  }
  expect_error(
      [&] { ck::read_state_dict("hello, world", "x.bin"); },
      "x.bin: neither a PyTorch zip file");
  expect_error(
      [&] { ck::read_state_dict("", "e.bin"); },
      "e.bin: neither a PyTorch zip file");
  // A truncated safetensors file: decode_safetensors' own error.
  expect_error(
      [&] { ck::read_state_dict(st.substr(0, st.size() - 3), "c.st"); },
      "c.st: tensor");
}
