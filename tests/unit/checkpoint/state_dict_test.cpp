// Reading state_dict files: PyTorch zip files as Python's torch.save and
// torch::pickle_save write them (dicts and OrderedDicts of tensors), and
// safetensors, picked by content; every kind of bad file is an error naming
// it.
#include "sdn/checkpoint/state_dict.h"

#include "error_message.h"
#include "sdn/checkpoint/export.h"
#include "sdn/util/checksum.h"
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

// `n` bytes of `value`, little-endian.
std::string le(uint64_t value, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += static_cast<char>((value >> (8 * i)) & 0xff);
  }
  return out;
}

// Pickle opcodes: a str (BINUNICODE), an int (LONG1, 8 bytes).
std::string str_op(const std::string& text) {
  return "X" + le(text.size(), 4) + text;
}
std::string int_op(int64_t value) {
  return std::string("\x8a\x08", 2) + le(static_cast<uint64_t>(value), 8);
}

// The pickle of torch._utils._rebuild_tensor_v2 of a 1-D view (`size`,
// `stride`, offset 0) of float storage `key` of `numel` elements.
std::string tensor_op(
    const std::string& key,
    int64_t numel,
    int64_t size,
    int64_t stride) {
  const std::string tuple1(1, '\x85');
  return "ctorch._utils\n_rebuild_tensor_v2\n((" + str_op("storage") +
      "ctorch\nFloatStorage\n" + str_op(key) + str_op("cpu") + int_op(numel) +
      "tQ" + int_op(0) + int_op(size) + tuple1 + int_op(stride) + tuple1 +
      "\x89NtR";
}

// The pickle of a dict of `items` (name, the pickle of its value).
std::string dict_pickle(
    const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out("\x80\x02}(", 4);
  for (const auto& [name, value] : items) {
    out += str_op(name) + value;
  }
  return out + "u.";
}

// The offset of the central directory entry of `name` in `zip`.
size_t directory_entry(const std::string& zip, const std::string& name) {
  const std::string signature("PK\x01\x02", 4);
  for (size_t at = zip.find(signature); at != std::string::npos;
       at = zip.find(signature, at + 1)) {
    if (zip.compare(at + 46, name.size(), name) == 0) {
      return at;
    }
  }
  ADD_FAILURE() << "no central directory entry " << name;
  return 0;
}

// The 4-byte little-endian number at `at`.
uint64_t le_at(const std::string& bytes, size_t at) {
  uint64_t value = 0;
  for (size_t i = 4; i > 0; --i) {
    value = (value << 8) | static_cast<uint8_t>(bytes[at + i - 1]);
  }
  return value;
}

// Overwrites `n` bytes of `bytes` at `at` with `value`, little-endian.
void put(std::string& bytes, size_t at, uint64_t value, size_t n) {
  bytes.replace(at, n, le(value, n));
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
  // In the user's terms: no LibTorch source location in the reason.
  for (const std::string& bad :
       {good.substr(0, good.size() / 2), std::string("PK\x03\x04junk")}) {
    EXPECT_FALSE(contains(
        error_message([&] { ck::read_torch_zip(bad, "t.pt"); }),
        "enforce fail"));
  }
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
  // A protocol 0 or 1 pickle (torch.save(..., pickle_protocol=0)), and one
  // making more Python objects than any state_dict does (each costs a few
  // hundred bytes of memory for a byte of file).
  records["data.pkl"] = "(dp0\n.";
  expect_error(
      [&] { ck::read_torch_zip(zip_of(records), "p0.pt"); },
      "p0.pt: data.pkl is a pickle of protocol 0 or 1");
  records["data.pkl"] = "\200\002" + std::string(200001, 'N') + ".";
  expect_error(
      [&] { ck::read_torch_zip(zip_of(records), "n.pt"); },
      "n.pt: the pickle makes more than 200000 Python objects");
  // A flipped bit in a tensor's data: the archive's CRC-32 finds it
  // (LibTorch's reader does not check it).
  {
    std::string damaged = zip_of(fixture_records());
    const std::string data0 = bytes_of(torch::tensor({1.5f, -2.0f}));
    const size_t at = damaged.find(data0);
    ASSERT_NE(at, std::string::npos);
    damaged[at + 1] = static_cast<char>(damaged[at + 1] ^ 0x01);
    expect_error(
        [&] { ck::read_torch_zip(damaged, "c.pt"); },
        "c.pt: record 'data/0' is damaged (its CRC-32 is ");
  }
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

// Nothing is allocated for what the file only claims: LibTorch's zip reader
// (miniz) allocates a record's size as its directory entry says, and the
// tensors a pickle rebuilds could repeat one storage without end.
TEST(ReadTorchZip, SizesTheFileClaimsAreCheckedBeforeAllocating) {
  const std::string good = zip_of(fixture_records());
  // A compressed record, which miniz would inflate to whatever size it
  // claims: torch.save stores every record as it is.
  std::string zip = good;
  put(zip, directory_entry(zip, "archive/data/0") + 10, 8, 2);
  put(zip, directory_entry(zip, "archive/data/0") + 24, 3u << 30, 4);
  expect_error(
      [&] { ck::read_torch_zip(zip, "c.pt"); },
      "c.pt: record 'data/0' is compressed (method 8)");
  // Also when the pickle names it in upper case (miniz ignores case) or
  // with a NUL after its name (LibTorch's reader looks names up as C
  // strings).
  for (const std::string& key : {std::string("K"), std::string("k\0x", 3)}) {
    zip = zip_of(
        {{"data.pkl", dict_pickle({{"w", tensor_op(key, 1, 1, 1)}})},
         {"data/k", std::string(4, '\0')}});
    put(zip, directory_entry(zip, "archive/data/k") + 10, 8, 2);
    expect_error(
        [&] { ck::read_torch_zip(zip, "k.pt"); },
        "k.pt: record 'data/" + key.substr(0, 1) +
            "' is compressed (method 8)");
  }
  // The record `version`, which LibTorch's reader reads as it opens the
  // file, claiming 4 GiB (sizes all ones and no zip64 field): miniz would
  // allocate them.
  zip = good;
  const size_t version = directory_entry(zip, "archive/version");
  put(zip, version + 20, 0xffffffff, 4);
  put(zip, version + 24, 0xffffffff, 4);
  expect_error(
      [&] { ck::read_torch_zip(zip, "v.pt"); },
      "v.pt: not a readable PyTorch zip file (record 'archive/version' "
      "claims 4294967295 bytes at byte");
  // A zip64 end of central directory claiming 2^31 entries: miniz checks
  // them against the directory's size in 32 bits (2^31 * 46 wraps to 0),
  // then allocates 8 GiB of offsets twice.
  const size_t end = good.size() - 22; // the end record, without comment
  ASSERT_EQ(good.compare(end, 4, "PK\x05\x06"), 0);
  const std::string directory_size = good.substr(end + 12, 4);
  const std::string directory_offset = good.substr(end + 16, 4);
  const std::string zip64 = std::string("PK\x06\x06", 4) + le(44, 8) +
      le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(uint64_t{1} << 31, 8) +
      le(uint64_t{1} << 31, 8) + directory_size + le(0, 4) + directory_offset +
      le(0, 4);
  const std::string locator =
      std::string("PK\x06\x07", 4) + le(0, 4) + le(end, 8) + le(1, 4);
  zip = good.substr(0, end) + zip64 + locator + good.substr(end);
  expect_error(
      [&] { ck::read_torch_zip(zip, "z.pt"); },
      "z.pt: not a readable PyTorch zip file (a central directory of "
      "2147483648 entries in");
  // LibTorch's reader leaks miniz's state when its constructor throws after
  // opening the zip, as it does for a record `version` it cannot read or
  // does not accept: both are refused before.
  zip = good;
  const size_t local = static_cast<size_t>(
      le_at(zip, directory_entry(zip, "archive/version") + 42));
  put(zip, local, 0, 4); // its local header's signature
  expect_error(
      [&] { ck::read_torch_zip(zip, "l.pt"); },
      "l.pt: not a readable PyTorch zip file (record 'archive/version' "
      "cannot be read as it is)");
  zip = good;
  const size_t version_data = zip.find("3\n", local);
  ASSERT_NE(version_data, std::string::npos);
  zip.replace(version_data, 2, "x\n");
  // Damaged: its CRC-32 no longer matches.
  expect_error(
      [&] { ck::read_torch_zip(zip, "c.pt"); },
      "c.pt: not a readable PyTorch zip file (its record 'version' is "
      "damaged (CRC-32 ");
  // Written so (the CRC-32 of what it holds): a version LibTorch does not
  // read, shown escaped.
  put(zip,
      directory_entry(zip, "archive/version") + 16,
      sdn::crc32_update(0, "x\n", 2),
      4);
  expect_error(
      [&] { ck::read_torch_zip(zip, "x.pt"); },
      "x.pt: its record 'version' holds 'x\\n'; LibTorch reads versions 1 "
      "to 10");
  // A storage read under two keys (miniz ignores case): the storages add
  // up to more than the file.
  const std::string floats(4096, '\0');
  zip = zip_of(
      {{"data.pkl",
        dict_pickle(
            {{"a", tensor_op("k", 1024, 1024, 1)},
             {"b", tensor_op("K", 1024, 1024, 1)}})},
       {"data/k", floats}});
  expect_error(
      [&] { ck::read_torch_zip(zip, "k.pt"); },
      "k.pt: its storages add up to more than the file's bytes (record "
      "'data/K' read under two keys?)");
  // One float viewed 2^20 times (stride 0), and 2^62 times (bytes overflow
  // 64 bits): over 16 times the file's bytes.
  for (const int64_t n : {int64_t{1} << 20, int64_t{1} << 62}) {
    zip = zip_of(
        {{"data.pkl", dict_pickle({{"w", tensor_op("0", 1, n, 0)}})},
         {"data/0", std::string(4, '\0')}});
    expect_error(
        [&] { ck::read_torch_zip(zip, "s.pt"); },
        "s.pt: its tensors hold more than 16 times the file's bytes (a "
        "tensor of size [" +
            std::to_string(n) +
            "], stride [0] repeats its storage of 1 "
            "elements)");
  }
  // Tied weights (two tensors of one storage) and a short stride-0 view
  // stay within the bounds.
  zip = zip_of(
      {{"data.pkl",
        dict_pickle(
            {{"a", tensor_op("0", 4, 4, 1)},
             {"b", tensor_op("0", 4, 4, 1)},
             {"c", tensor_op("0", 4, 3, 0)}})},
       {"data/0", bytes_of(torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}))}});
  const auto tied = ck::read_torch_zip(zip, "t.pt");
  ASSERT_EQ(tied.size(), 3u);
  EXPECT_TRUE(
      torch::equal(tied[1].second, torch::tensor({1.f, 2.f, 3.f, 4.f})));
  EXPECT_TRUE(torch::equal(tied[2].second, torch::tensor({1.f, 1.f, 1.f})));
}

TEST(ReadStateDict, ATensorWithoutANameIsAnError) {
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("", torch::ones({1}));
  expect_error(
      [&] { ck::read_state_dict(pickle_save(c10::IValue(dict)), "e.pt"); },
      "e.pt: a tensor without a name");
  const std::string header =
      R"({"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  const std::string st = le(header.size(), 8) + header + "x";
  expect_error(
      [&] { ck::read_state_dict(st, "e.safetensors"); },
      "e.safetensors: a tensor without a name");
}
