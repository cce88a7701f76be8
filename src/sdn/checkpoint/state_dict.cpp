#include "sdn/checkpoint/state_dict.h"

#include "sdn/checkpoint/export.h"
#include "sdn/util/checksum.h"
#include "sdn/util/error.h"
#include "sdn/util/printable.h"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <caffe2/serialize/versions.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace sdn::checkpoint {

namespace {

// ---------------------------------------------------------------------------
// The zip archive, read by LibTorch's own reader from memory.

// PyTorchStreamReader's view of the file's bytes; reads past the end give
// fewer bytes (the reader then reports a corrupt archive) instead of
// reading outside the buffer.
class BytesAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BytesAdapter(const std::string& bytes) : bytes_(bytes) {}
  size_t size() const override {
    return bytes_.size();
  }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/)
      const override {
    if (pos >= bytes_.size()) {
      return 0;
    }
    const size_t count = std::min<uint64_t>(n, bytes_.size() - pos);
    std::memcpy(buf, bytes_.data() + pos, count);
    return count;
  }

 private:
  const std::string& bytes_;
};

// ---------------------------------------------------------------------------
// The zip's central directory, checked before LibTorch's reader opens it.
//
// LibTorch's reader (miniz) allocates a record's uncompressed size as its
// central directory entry claims before reading a byte of it, and opening
// the archive already reads the record `version`: a 1 KB file claiming a
// 4 GB record, or a zip64 entry claiming an exabyte, would be allocated.
// So the directory is found here the way miniz 2.1 (LibTorch 1.13) finds
// it, and every entry is read the way miniz reads it, before LibTorch sees
// the archive: each must fit in the file with its local header, and all
// of them together too (records of a zip do not overlap), and a stored one
// be as large uncompressed as compressed. A compressed record would be
// inflated to whatever size it claims: torch.save never compresses, so
// none is read (TorchScript archives compress their code, and are refused
// by name). No record read afterwards can then be larger than the file.
//
// And LibTorch's reader does not free miniz's state when its constructor
// throws after opening the zip (LeakSanitizer: every such file leaks a few
// hundred bytes). So what the constructor then checks is checked here
// first: a first record inside a folder, and a record `version` in it,
// readable, holding a version LibTorch reads.

constexpr uint32_t kEndOfDirectorySignature = 0x06054b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kDirectoryEntrySignature = 0x02014b50;
constexpr uint64_t kEndOfDirectorySize = 22;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint64_t kZip64EndSize = 56;
constexpr uint64_t kDirectoryEntrySize = 46;
constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kMax32 = 0xffffffff;
// General purpose flags miniz refuses to extract: encrypted, a compressed
// patch, strongly encrypted.
constexpr uint64_t kUnreadableFlags = 0x01 | 0x20 | 0x40;
// The MS-DOS directory attribute: miniz then extracts nothing.
constexpr uint64_t kDirectoryAttribute = 0x10;

// The n-byte little-endian number at `at` (the caller checks the bounds).
uint64_t le(const std::string& bytes, uint64_t at, size_t n) {
  uint64_t u = 0;
  for (size_t i = n; i > 0; --i) {
    u = (u << 8) | static_cast<uint8_t>(bytes[at + i - 1]);
  }
  return u;
}

// Where miniz finds the end-of-central-directory record: the last
// signature with room for the record after it, searched backwards in 4 KiB
// blocks, at most about 64 KiB (the longest comment) from the end.
bool find_end_of_directory(const std::string& bytes, uint64_t* at) {
  const int64_t size = static_cast<int64_t>(bytes.size());
  constexpr int64_t kBlock = 4096;
  int64_t block = std::max<int64_t>(size - kBlock, 0);
  while (true) {
    const int64_t n = std::min(kBlock, size - block);
    for (int64_t i = n - 4; i >= 0; --i) {
      if (le(bytes, static_cast<uint64_t>(block + i), 4) ==
              kEndOfDirectorySignature &&
          size - (block + i) >= static_cast<int64_t>(kEndOfDirectorySize)) {
        *at = static_cast<uint64_t>(block + i);
        return true;
      }
    }
    if (block == 0 ||
        size - block >= 0xffff + static_cast<int64_t>(kEndOfDirectorySize)) {
      return false;
    }
    block = std::max<int64_t>(block - (kBlock - 3), 0);
  }
}

std::string ascii_lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return text;
}

// What check_zip_directory learns of an archive it accepts.
struct ZipDirectory {
  std::string folder; // the first record's folder and "/", in lower case
  // The compressed records (in lower case, with their folder) and their
  // compression methods.
  std::map<std::string, uint64_t> compressed;
  // Every record's CRC-32 as its directory entry says (same names).
  std::map<std::string, uint32_t> crc32;
};

// Throws sdn::Error unless the `size` bytes read for `record` have the
// CRC-32 its directory entry says: LibTorch's miniz is built without its
// CRC checks, so a flipped bit in a tensor would otherwise be read as a
// weight.
void check_crc(
    const ZipDirectory& zip,
    const std::string& record,
    const void* data,
    size_t size,
    const std::string& source) {
  const std::string name = record.substr(0, record.find('\0'));
  const auto it = zip.crc32.find(zip.folder + ascii_lower(name));
  const uint32_t crc = crc32_update(0, data, size);
  check(
      it != zip.crc32.end() && it->second == crc,
      source,
      ": record '",
      printable_name(name),
      "' is damaged (its CRC-32 is ",
      crc32_hex(crc),
      ", the archive's directory says ",
      it == zip.crc32.end() ? std::string("nothing") : crc32_hex(it->second),
      ")");
}

// Throws sdn::Error when `record` (a name inside the archive's folder, as
// LibTorch's reader takes it: up to a NUL) is compressed.
void check_stored(
    const ZipDirectory& zip,
    const std::string& record,
    const std::string& source) {
  const std::string name = record.substr(0, record.find('\0'));
  const auto it = zip.compressed.find(zip.folder + ascii_lower(name));
  if (it != zip.compressed.end()) {
    fail(
        source,
        ": record '",
        name,
        "' is compressed (method ",
        it->second,
        "); torch.save stores every record as it is");
  }
}

ZipDirectory check_zip_directory(
    const std::string& bytes,
    const std::string& source) {
  ZipDirectory out;
  const uint64_t size = bytes.size();
  const auto refuse = [&](const std::string& why) {
    fail(source, ": not a readable PyTorch zip file (", why, ")");
  };
  uint64_t end = 0;
  if (size < kEndOfDirectorySize || !find_end_of_directory(bytes, &end)) {
    refuse("no end of central directory: truncated?");
  }
  uint64_t entries = le(bytes, end + 10, 2);
  uint64_t entries_here = le(bytes, end + 8, 2);
  uint64_t disk = le(bytes, end + 4, 2);
  uint64_t directory_disk = le(bytes, end + 6, 2);
  uint64_t directory_size = le(bytes, end + 12, 4);
  uint64_t directory = le(bytes, end + 16, 4);
  if (end >= kZip64LocatorSize + kZip64EndSize &&
      le(bytes, end - kZip64LocatorSize, 4) == kZip64LocatorSignature) {
    const uint64_t locator = end - kZip64LocatorSize;
    const uint64_t zip64 = le(bytes, locator + 8, 8);
    if (zip64 > size - kZip64EndSize) {
      refuse("its zip64 end of central directory lies past the end");
    }
    if (le(bytes, zip64, 4) == kZip64EndSignature) {
      if (le(bytes, zip64 + 4, 8) < kZip64EndSize - 12 ||
          le(bytes, locator + 16, 4) != 1 ||
          le(bytes, zip64 + 32, 8) > kMax32 ||
          le(bytes, zip64 + 24, 8) > kMax32 ||
          le(bytes, zip64 + 40, 8) > kMax32) {
        refuse("a zip64 end of central directory miniz does not read");
      }
      entries = le(bytes, zip64 + 32, 8);
      entries_here = le(bytes, zip64 + 24, 8);
      directory_size = le(bytes, zip64 + 40, 8);
      disk = le(bytes, zip64 + 16, 4);
      directory_disk = le(bytes, zip64 + 20, 4);
      directory = le(bytes, zip64 + 48, 8);
    }
  }
  if (entries != entries_here ||
      ((disk | directory_disk) != 0 && (disk != 1 || directory_disk != 1))) {
    refuse("a multi-disk archive");
  }
  if (directory_size < entries * kDirectoryEntrySize || directory > size ||
      directory_size > size - directory) {
    refuse(
        "a central directory of " + std::to_string(entries) + " entries in " +
        std::to_string(directory_size) + " bytes at byte " +
        std::to_string(directory) + " of " + std::to_string(size));
  }
  uint64_t p = directory;
  uint64_t left = directory_size;
  uint64_t records = 0; // the bytes of every record and its local header
  std::set<std::string> names; // in lower case: miniz ignores case
  std::string first; // the first record's name
  std::string version_record; // its folder's "version", in lower case
  std::string version; // that record's bytes
  for (uint64_t i = 0; i < entries; ++i) {
    if (left < kDirectoryEntrySize ||
        le(bytes, p, 4) != kDirectoryEntrySignature) {
      refuse("central directory entry " + std::to_string(i) + " is corrupt");
    }
    const uint64_t method = le(bytes, p + 10, 2);
    uint64_t compressed = le(bytes, p + 20, 4);
    uint64_t uncompressed = le(bytes, p + 24, 4);
    const uint64_t name_size = le(bytes, p + 28, 2);
    const uint64_t extra_size = le(bytes, p + 30, 2);
    const uint64_t entry_size =
        kDirectoryEntrySize + name_size + extra_size + le(bytes, p + 32, 2);
    uint64_t local = le(bytes, p + 42, 4);
    if (entry_size > left) {
      refuse("central directory entry " + std::to_string(i) + " is corrupt");
    }
    const std::string name = bytes.substr(p + kDirectoryEntrySize, name_size);
    if (std::max({compressed, uncompressed, local}) == kMax32) {
      // Its zip64 extra field, as miniz's mz_zip_file_stat_internal reads
      // it: the first field of id 1, sizes and offset in that order, each
      // only where the 32-bit one is all ones.
      uint64_t field = p + kDirectoryEntrySize + name_size;
      uint64_t extra_left = extra_size;
      while (extra_left > 0) {
        if (extra_left < 4 || le(bytes, field + 2, 2) + 4 > extra_left) {
          refuse(
              "record '" + printable_name(name) +
              "' has a corrupt extra field");
        }
        const uint64_t id = le(bytes, field, 2);
        const uint64_t data_size = le(bytes, field + 2, 2);
        if (id == 1) {
          uint64_t at = field + 4;
          uint64_t data_left = data_size;
          for (uint64_t* value : {&uncompressed, &compressed, &local}) {
            if (*value == kMax32) {
              if (data_left < 8) {
                refuse(
                    "record '" + printable_name(name) +
                    "' has a corrupt zip64 field");
              }
              *value = le(bytes, at, 8);
              at += 8;
              data_left -= 8;
            }
          }
          break;
        }
        field += 4 + data_size;
        extra_left -= 4 + data_size;
      }
    }
    if ((method == 0 && compressed != uncompressed) || local > size ||
        compressed > size - local ||
        kLocalHeaderSize > size - local - compressed) {
      refuse(
          "record '" + printable_name(name) + "' claims " +
          std::to_string(uncompressed) + " bytes at byte " +
          std::to_string(local) + " of " + std::to_string(size));
    }
    records += kLocalHeaderSize + compressed;
    if (records > size) {
      refuse(
          "its records add up to more than its " + std::to_string(size) +
          " bytes");
    }
    // What miniz checks as it extracts: the flags, then the local header,
    // whose name and extra field may differ in length from the entry's.
    const uint64_t flags = le(bytes, p + 8, 2);
    const bool directory_entry = (le(bytes, p + 38, 4) & kDirectoryAttribute) ||
        (!name.empty() && name.back() == '/');
    const uint64_t data = local + kLocalHeaderSize + le(bytes, local + 26, 2) +
        le(bytes, local + 28, 2);
    if ((flags & kUnreadableFlags) || (directory_entry && compressed > 0) ||
        le(bytes, local, 4) != kLocalHeaderSignature || data > size ||
        compressed > size - data) {
      refuse("record '" + printable_name(name) + "' cannot be read as it is");
    }
    if (!names.insert(ascii_lower(name)).second) {
      refuse("two records named '" + printable_name(name) + "', ignoring case");
    }
    if (i == 0) {
      first = name;
      const size_t slash = first.find('/');
      if (slash == std::string::npos || first.find('\0') < slash) {
        refuse(
            "its first record '" + printable_name(first) +
            "' is not in a folder");
      }
      out.folder = ascii_lower(first.substr(0, slash + 1));
      version_record = out.folder + "version";
    }
    if (method != 0) {
      out.compressed[ascii_lower(name)] = method;
    }
    out.crc32[ascii_lower(name)] = static_cast<uint32_t>(le(bytes, p + 16, 4));
    if (ascii_lower(name) == version_record) {
      if (method != 0) {
        refuse("its record 'version' is compressed");
      }
      version = bytes.substr(data, compressed);
      // Read here, not by LibTorch's reader: its CRC-32 is checked here.
      const uint32_t crc = crc32_update(0, version.data(), version.size());
      if (crc != static_cast<uint32_t>(le(bytes, p + 16, 4))) {
        refuse(
            "its record 'version' is damaged (CRC-32 " + crc32_hex(crc) +
            ", the directory says " +
            crc32_hex(static_cast<uint32_t>(le(bytes, p + 16, 4))) + ")");
      }
    }
    p += entry_size;
    left -= entry_size;
  }
  if (entries == 0) {
    refuse("an empty archive");
  }
  check(
      names.count(version_record) > 0,
      source,
      ": a zip file without the record 'version', not written by torch.save");
  // As LibTorch reads it (std::stoull, the versions of versions.h).
  uint64_t number = 0;
  bool parsed = true;
  try {
    number = std::stoull(version);
  } catch (const std::logic_error&) { // invalid_argument, out_of_range
    parsed = false;
  }
  check(
      parsed && number >= caffe2::serialize::kMinSupportedFileFormatVersion &&
          number <= caffe2::serialize::kMaxSupportedFileFormatVersion,
      source,
      ": its record 'version' holds '",
      printable_name(version.substr(0, 40)),
      version.size() > 40 ?
          "...' (" + std::to_string(version.size()) + " bytes)" :
          std::string("'"),
      "; LibTorch reads versions ",
      caffe2::serialize::kMinSupportedFileFormatVersion,
      " to ",
      caffe2::serialize::kMaxSupportedFileFormatVersion);
  return out;
}

// The first line of a LibTorch error (without its backtrace).
std::string reason(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  const size_t end = text.find('\n');
  if (end != std::string::npos) {
    text.resize(end);
  }
  text = printable_name(text);
  // LibTorch's location prefix, "[enforce fail at inline_container.cc:N] . ",
  // names its source file, not the user's problem.
  if (text.rfind("[enforce fail at ", 0) == 0) {
    const size_t close = text.find("] ");
    if (close != std::string::npos) {
      text.erase(0, close + 2);
      if (text.rfind(". ", 0) == 0) {
        text.erase(0, 2);
      }
    }
  }
  return text;
}

// ---------------------------------------------------------------------------
// The pickle of data.pkl: a small stack machine over the opcodes Python's
// pickle protocols 2 to 5 use for dicts of tensors (pickletools documents
// each one). Nothing is imported or called: the few callables a state_dict
// names are interpreted here, every other one is refused.

enum class Kind {
  kMark,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kBytes,
  kTuple,
  kList,
  kDict,
  kGlobal,
  kStorage,
  kTensor,
};

std::string kind_name(Kind kind) {
  switch (kind) {
    case Kind::kMark:
      return "a mark";
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "a bool";
    case Kind::kInt:
      return "an int";
    case Kind::kFloat:
      return "a float";
    case Kind::kString:
      return "a str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kTuple:
      return "a tuple";
    case Kind::kList:
      return "a list";
    case Kind::kDict:
      return "a dict";
    case Kind::kGlobal:
      return "a Python class or function";
    case Kind::kStorage:
      return "a storage";
    case Kind::kTensor:
      return "a tensor";
  }
  return "?";
}

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  Kind kind = Kind::kNone;
  int64_t integer = 0; // bool, int
  double real = 0; // float
  std::string text; // str, bytes, a global's "module.name"
  std::vector<ValuePtr> items; // tuple, list
  std::vector<std::pair<ValuePtr, ValuePtr>> entries; // dict, in order
  std::unordered_map<std::string, size_t> index; // dict: str key -> entry
  torch::Tensor tensor; // storage (1-D) or tensor
};

// Every value of one unpickling, so that all of them are released together
// without recursion (a deep chain of nested lists would overflow the stack
// in recursive destructors) and cycles (a list appended to itself through
// the memo) are broken.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    for (const auto& v : values_) {
      v->items.clear();
      v->entries.clear();
    }
  }
  ValuePtr make(Kind kind) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    values_.push_back(v);
    return v;
  }

 private:
  std::vector<ValuePtr> values_;
};

// The dtype of a torch.XStorage class (the persistent id's second item).
const std::map<std::string, torch::ScalarType>& storage_types() {
  static const std::map<std::string, torch::ScalarType> k = {
      {"torch.FloatStorage", torch::kFloat32},
      {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},
      {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},
      {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},
      {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},
      {"torch.BoolStorage", torch::kBool}};
  return k;
}

class Unpickler {
 public:
  // `load_storage` answers a persistent id (BINPERSID).
  // The tensors it rebuilds may hold `tensor_budget` bytes in all.
  Unpickler(
      Arena& arena,
      const std::string& pickle,
      std::string where,
      std::function<ValuePtr(const Value& id)> load_storage,
      uint64_t tensor_budget)
      : arena_(arena),
        pickle_(pickle),
        where_(std::move(where)),
        load_storage_(std::move(load_storage)),
        tensor_budget_(tensor_budget) {}

  ValuePtr run() {
    while (true) {
      const size_t at = pos_;
      const uint8_t op = byte();
      switch (op) {
        case 0x80: // PROTO
          byte();
          break;
        case 0x95: // FRAME (protocol 4): the length of what follows
          take(8);
          break;
        case '.': { // STOP
          ValuePtr result = pop();
          check(
              stack_.empty(),
              where_,
              ": the pickle ends with values left on its stack");
          return result;
        }
        case '(': // MARK
          stack_.push_back(make(Kind::kMark));
          break;
        case '0': // POP
          pop();
          break;
        case '1': // POP_MARK
          pop_mark();
          break;
        case '2': // DUP
          stack_.push_back(top());
          break;
        case 'N':
          stack_.push_back(make(Kind::kNone));
          break;
        case 0x88: // NEWTRUE
        case 0x89: { // NEWFALSE
          auto v = make(Kind::kBool);
          v->integer = op == 0x88 ? 1 : 0;
          stack_.push_back(v);
          break;
        }
        case 'J': // BININT: 4-byte signed
          push_int(static_cast<int32_t>(little_endian(4)));
          break;
        case 'K': // BININT1
          push_int(static_cast<int64_t>(little_endian(1)));
          break;
        case 'M': // BININT2
          push_int(static_cast<int64_t>(little_endian(2)));
          break;
        case 0x8a: { // LONG1: n bytes of two's complement
          const size_t n = byte();
          check(
              n <= 8,
              where_,
              ": an integer of ",
              n,
              " bytes at byte ",
              at,
              " of the pickle (at most 8 are read)");
          uint64_t u = little_endian(n);
          if (n > 0 && n < 8 && (u >> (8 * n - 1)) != 0) {
            u |= ~uint64_t{0} << (8 * n); // sign-extend
          }
          push_int(static_cast<int64_t>(u));
          break;
        }
        case 'G': { // BINFLOAT: 8-byte big-endian double
          uint64_t u = 0;
          for (char c : take(8)) {
            u = (u << 8) | static_cast<uint8_t>(c);
          }
          auto v = make(Kind::kFloat);
          std::memcpy(&v->real, &u, sizeof(u));
          stack_.push_back(v);
          break;
        }
        case 'X': // BINUNICODE
          push_text(Kind::kString, little_endian(4));
          break;
        case 0x8c: // SHORT_BINUNICODE
          push_text(Kind::kString, little_endian(1));
          break;
        case 0x8d: // BINUNICODE8
          push_text(Kind::kString, little_endian(8));
          break;
        case 'B': // BINBYTES
          push_text(Kind::kBytes, little_endian(4));
          break;
        case 'C': // SHORT_BINBYTES
          push_text(Kind::kBytes, little_endian(1));
          break;
        case 0x8e: // BINBYTES8
          push_text(Kind::kBytes, little_endian(8));
          break;
        case ')': // EMPTY_TUPLE
          stack_.push_back(make(Kind::kTuple));
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: { // TUPLE3
          auto v = make(Kind::kTuple);
          v->items.resize(static_cast<size_t>(op - 0x84));
          for (size_t i = v->items.size(); i > 0; --i) {
            v->items[i - 1] = pop();
          }
          stack_.push_back(v);
          break;
        }
        case 't': { // TUPLE
          auto v = make(Kind::kTuple);
          v->items = pop_mark();
          stack_.push_back(v);
          break;
        }
        case ']': // EMPTY_LIST
          stack_.push_back(make(Kind::kList));
          break;
        case 'l': { // LIST
          auto v = make(Kind::kList);
          v->items = pop_mark();
          stack_.push_back(v);
          break;
        }
        case 'a': { // APPEND
          ValuePtr item = pop();
          expect(top(), Kind::kList, "APPEND")->items.push_back(item);
          break;
        }
        case 'e': { // APPENDS
          auto items = pop_mark();
          auto& list = expect(top(), Kind::kList, "APPENDS")->items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case '}': // EMPTY_DICT
          stack_.push_back(make(Kind::kDict));
          break;
        case 'd': { // DICT
          auto items = pop_mark();
          auto v = make(Kind::kDict);
          set_items(*v, items);
          stack_.push_back(v);
          break;
        }
        case 's': { // SETITEM
          ValuePtr value = pop();
          ValuePtr key = pop();
          set_items(*expect(top(), Kind::kDict, "SETITEM"), {key, value});
          break;
        }
        case 'u': { // SETITEMS
          auto items = pop_mark();
          set_items(*expect(top(), Kind::kDict, "SETITEMS"), items);
          break;
        }
        case 'q': // BINPUT
          memo_[little_endian(1)] = top();
          break;
        case 'r': // LONG_BINPUT
          memo_[little_endian(4)] = top();
          break;
        case 0x94: // MEMOIZE
          memo_[memo_.size()] = top();
          break;
        case 'h': // BINGET
          get(little_endian(1), at);
          break;
        case 'j': // LONG_BINGET
          get(little_endian(4), at);
          break;
        case 'c': { // GLOBAL: "module\nname\n"
          const std::string module = line();
          const std::string name = line();
          push_global(module + "." + name);
          break;
        }
        case 0x93: { // STACK_GLOBAL
          ValuePtr name = pop();
          ValuePtr module = pop();
          expect(name, Kind::kString, "STACK_GLOBAL");
          expect(module, Kind::kString, "STACK_GLOBAL");
          push_global(module->text + "." + name->text);
          break;
        }
        case 'R': // REDUCE: callable(*args)
        case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
          ValuePtr args = pop();
          ValuePtr callable = pop();
          expect(args, Kind::kTuple, op == 'R' ? "REDUCE" : "NEWOBJ");
          expect(callable, Kind::kGlobal, op == 'R' ? "REDUCE" : "NEWOBJ");
          stack_.push_back(call(callable->text, args->items));
          break;
        }
        case 'b': { // BUILD: obj.__setstate__(state)
          ValuePtr state = pop();
          // An OrderedDict's attributes (a state_dict's `_metadata`, the
          // modules' versions) say nothing about the tensors.
          expect(top(), Kind::kDict, "BUILD");
          (void)state;
          break;
        }
        case 'Q': { // BINPERSID: a storage
          ValuePtr id = pop();
          stack_.push_back(load_storage_(*id));
          break;
        }
        default:
          fail(
              where_,
              ": pickle opcode 0x",
              hex(op),
              " at byte ",
              at,
              " is not one a state_dict uses (or the pickle is corrupt)");
      }
    }
  }

 private:
  static std::string hex(uint8_t op) {
    const char* digits = "0123456789abcdef";
    return {digits[op >> 4], digits[op & 15]};
  }

  uint8_t byte() {
    check(
        pos_ < pickle_.size(),
        where_,
        ": the pickle ends early (truncated at byte ",
        pickle_.size(),
        ")");
    return static_cast<uint8_t>(pickle_[pos_++]);
  }

  std::string take(uint64_t n) {
    check(
        n <= pickle_.size() - pos_,
        where_,
        ": the pickle ends early (",
        n,
        " bytes wanted at byte ",
        pos_,
        " of ",
        pickle_.size(),
        ")");
    std::string out = pickle_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  uint64_t little_endian(size_t n) {
    const std::string b = take(n);
    uint64_t u = 0;
    for (size_t i = n; i > 0; --i) {
      u = (u << 8) | static_cast<uint8_t>(b[i - 1]);
    }
    return u;
  }

  std::string line() {
    const size_t end = pickle_.find('\n', pos_);
    check(
        end != std::string::npos,
        where_,
        ": the pickle ends inside a class name");
    std::string out = pickle_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }

  void push_int(int64_t value) {
    auto v = make(Kind::kInt);
    v->integer = value;
    stack_.push_back(v);
  }

  void push_text(Kind kind, uint64_t n) {
    auto v = make(kind);
    v->text = take(n);
    stack_.push_back(v);
  }

  void push_global(const std::string& name) {
    auto v = make(Kind::kGlobal);
    v->text = name;
    stack_.push_back(v);
  }

  const ValuePtr& top() {
    check(
        !stack_.empty() && stack_.back()->kind != Kind::kMark,
        where_,
        ": malformed pickle (an opcode at byte ",
        pos_ - 1,
        " finds no value)");
    return stack_.back();
  }

  ValuePtr pop() {
    ValuePtr v = top();
    stack_.pop_back();
    return v;
  }

  std::vector<ValuePtr> pop_mark() {
    auto it = std::find_if(stack_.rbegin(), stack_.rend(), [](const auto& v) {
      return v->kind == Kind::kMark;
    });
    check(
        it != stack_.rend(),
        where_,
        ": malformed pickle (no mark before byte ",
        pos_,
        ")");
    const auto mark = it.base() - 1;
    std::vector<ValuePtr> items(mark + 1, stack_.end());
    stack_.erase(mark, stack_.end());
    return items;
  }

  void get(uint64_t key, size_t at) {
    const auto it = memo_.find(key);
    check(
        it != memo_.end(),
        where_,
        ": malformed pickle (memo ",
        key,
        " read at byte ",
        at,
        " was never stored)");
    stack_.push_back(it->second);
  }

  const ValuePtr& expect(const ValuePtr& v, Kind kind, const char* op) {
    check(
        v->kind == kind,
        where_,
        ": malformed pickle (",
        op,
        " before byte ",
        pos_,
        " expects ",
        kind_name(kind),
        ", found ",
        kind_name(v->kind),
        ")");
    return v;
  }

  // Python's dict semantics: a key set again keeps its place, takes the new
  // value.
  void set_items(Value& dict, const std::vector<ValuePtr>& items) {
    check(
        items.size() % 2 == 0,
        where_,
        ": malformed pickle (an odd number of dict items before byte ",
        pos_,
        ")");
    for (size_t i = 0; i < items.size(); i += 2) {
      const ValuePtr& key = items[i];
      if (key->kind == Kind::kString) {
        const auto [it, fresh] =
            dict.index.emplace(key->text, dict.entries.size());
        if (!fresh) {
          dict.entries[it->second].second = items[i + 1];
          continue;
        }
      }
      dict.entries.emplace_back(key, items[i + 1]);
    }
  }

  int64_t int_arg(const ValuePtr& v, const std::string& what) {
    check(
        v->kind == Kind::kInt,
        where_,
        ": ",
        what,
        " is ",
        kind_name(v->kind),
        ", expected an int");
    return v->integer;
  }

  std::vector<int64_t> ints_arg(const ValuePtr& v, const std::string& what) {
    check(
        v->kind == Kind::kTuple,
        where_,
        ": ",
        what,
        " is ",
        kind_name(v->kind),
        ", expected a tuple of ints");
    std::vector<int64_t> out;
    for (const auto& item : v->items) {
      out.push_back(int_arg(item, what));
      check(
          out.back() >= 0,
          where_,
          ": ",
          what,
          " holds ",
          out.back(),
          ", expected sizes >= 0");
    }
    return out;
  }

  // torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
  // requires_grad, backward_hooks[, metadata]): the view as a tensor of its
  // own.
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args) {
    check(
        args.size() == 6 || args.size() == 7,
        where_,
        ": a tensor is rebuilt from ",
        args.size(),
        " arguments, expected 6 or 7");
    check(
        args[0]->kind == Kind::kStorage,
        where_,
        ": a tensor's data is ",
        kind_name(args[0]->kind),
        ", expected a storage");
    const torch::Tensor& storage = args[0]->tensor;
    const int64_t offset = int_arg(args[1], "a tensor's storage offset");
    const auto size = ints_arg(args[2], "a tensor's size");
    const auto stride = ints_arg(args[3], "a tensor's stride");
    check(
        offset >= 0 && size.size() == stride.size(),
        where_,
        ": a tensor of size ",
        c10::IntArrayRef(size),
        " has stride ",
        c10::IntArrayRef(stride),
        " and offset ",
        offset);
    int64_t numel = 1;
    int64_t last = offset; // the last element's index in the storage
    bool overflow = false;
    for (size_t d = 0; d < size.size(); ++d) {
      int64_t reach = 0;
      overflow = overflow || __builtin_mul_overflow(numel, size[d], &numel) ||
          (size[d] > 0 &&
           (__builtin_mul_overflow(size[d] - 1, stride[d], &reach) ||
            __builtin_add_overflow(last, reach, &last)));
    }
    check(
        !overflow && (numel == 0 || last < storage.numel()),
        where_,
        ": a tensor of size ",
        c10::IntArrayRef(size),
        ", stride ",
        c10::IntArrayRef(stride),
        " and offset ",
        offset,
        " reaches past its storage of ",
        storage.numel(),
        " elements");
    // A view holds at most its storage's elements unless it overlaps
    // itself (a stride of 0): the budget bounds those too.
    uint64_t bytes = 0;
    check(
        !__builtin_mul_overflow(
            static_cast<uint64_t>(numel), storage.itemsize(), &bytes) &&
            bytes <= tensor_budget_,
        where_,
        ": its tensors hold more than ",
        kMaxTensorBytesPerFileByte,
        " times the file's bytes (a tensor of size ",
        c10::IntArrayRef(size),
        ", stride ",
        c10::IntArrayRef(stride),
        " repeats its storage of ",
        storage.numel(),
        " elements)");
    tensor_budget_ -= bytes;
    auto v = make(Kind::kTensor);
    v->tensor = numel == 0 ? torch::empty(size, storage.options()) :
                             storage.as_strided(size, stride, offset)
                                 .clone(at::MemoryFormat::Contiguous);
    return v;
  }

  ValuePtr call(const std::string& name, const std::vector<ValuePtr>& args) {
    if (name == "collections.OrderedDict") {
      check(
          args.empty(),
          where_,
          ": OrderedDict built from arguments (expected OrderedDict())");
      return make(Kind::kDict);
    }
    if (name == "torch._utils._rebuild_tensor_v2") {
      return rebuild_tensor(args);
    }
    if (name == "torch._utils._rebuild_parameter" ||
        name == "torch._utils._rebuild_parameter_with_state") {
      check(
          !args.empty() && args[0]->kind == Kind::kTensor,
          where_,
          ": a parameter without its tensor");
      return args[0];
    }
    if (name == "torch.jit._pickle.restore_type_tag") {
      // TorchScript's pickler may tag a container with its type.
      check(!args.empty(), where_, ": restore_type_tag without a value");
      return args[0];
    }
    fail(
        where_,
        ": holds an object made by Python's ",
        printable_name(name),
        // How pickle protocol 2 stores bytes, a numpy array's among them.
        name == "_codecs.encode" ? " (bytes, as in a numpy array)" : "",
        ", which sdn does not read (a state_dict holds only a dict of names "
        "to tensors)");
  }

  // Each value costs a few hundred bytes for one byte of pickle ('N'), so
  // their number is bounded: a state_dict uses about 20 per tensor, and the
  // largest of sdn's networks has a few hundred tensors.
  static constexpr size_t kMaxValues = 200000;

  ValuePtr make(Kind kind) {
    check(
        ++values_made_ <= kMaxValues,
        where_,
        ": the pickle makes more than ",
        kMaxValues,
        " Python objects (a state_dict of sdn's networks makes a few "
        "thousand); it is not a state_dict sdn reads");
    return arena_.make(kind);
  }

  Arena& arena_;
  const std::string& pickle_;
  std::string where_;
  std::function<ValuePtr(const Value& id)> load_storage_;
  uint64_t tensor_budget_;
  size_t pos_ = 0;
  size_t values_made_ = 0;
  std::vector<ValuePtr> stack_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
};

// A torch.save persistent id ('storage', torch.XStorage, key, location,
// numel): the record data/KEY as a 1-D tensor, read once per key. The
// storages add up to at most `file_size` bytes: miniz finds a record by its
// name ignoring case (and up to a NUL), so keys "a" and "A" read the same
// record twice.
class StorageLoader {
 public:
  StorageLoader(
      Arena& arena,
      caffe2::serialize::PyTorchStreamReader& reader,
      const ZipDirectory& zip,
      std::string source,
      uint64_t file_size)
      : arena_(arena),
        reader_(reader),
        zip_(zip),
        source_(std::move(source)),
        budget_(file_size) {}

  ValuePtr operator()(const Value& id) {
    check(
        id.kind == Kind::kTuple && id.items.size() == 5 &&
            id.items[0]->kind == Kind::kString &&
            id.items[0]->text == "storage" &&
            id.items[1]->kind == Kind::kGlobal &&
            id.items[2]->kind == Kind::kString &&
            id.items[4]->kind == Kind::kInt,
        source_,
        ": a persistent id that is not ('storage', type, key, location, "
        "numel)");
    const auto type = storage_types().find(id.items[1]->text);
    check(
        type != storage_types().end(),
        source_,
        ": a storage of type ",
        id.items[1]->text,
        ", which sdn does not read (float, int and bool storages only)");
    const std::string& key = id.items[2]->text;
    const auto known = storages_.find(key);
    if (known != storages_.end()) {
      check(
          known->second->tensor.scalar_type() == type->second,
          source_,
          ": storage '",
          key,
          "' is used with two dtypes");
      return known->second;
    }
    const std::string record = "data/" + key;
    check(
        reader_.hasRecord(record),
        source_,
        ": the archive has no record '",
        record,
        "' for a storage the pickle uses");
    check_stored(zip_, record, source_);
    at::DataPtr data;
    size_t bytes = 0;
    try {
      std::tie(data, bytes) = reader_.getRecord(record);
    } catch (const std::exception& e) {
      fail(
          source_,
          ": cannot read record '",
          printable_name(record),
          "' (",
          reason(e),
          ")");
    }
    check_crc(zip_, record, data.get(), bytes, source_);
    const int64_t numel = id.items[4]->integer;
    const size_t element = torch::elementSize(type->second);
    check(
        numel >= 0 && bytes % element == 0 &&
            bytes / element == static_cast<uint64_t>(numel),
        source_,
        ": record '",
        printable_name(record),
        "' holds ",
        bytes,
        " bytes, but the pickle says ",
        numel,
        " elements of ",
        element,
        " bytes");
    check(
        bytes <= budget_,
        source_,
        ": its storages add up to more than the file's bytes (record '",
        printable_name(record),
        "' read under two keys?)");
    budget_ -= bytes;
    auto v = arena_.make(Kind::kStorage);
    v->tensor = torch::empty({numel}, torch::TensorOptions(type->second));
    if (bytes > 0) {
      std::memcpy(v->tensor.data_ptr(), data.get(), bytes);
    }
    if (type->second == torch::kBool) {
      const auto* b = static_cast<const uint8_t*>(data.get());
      check(
          std::all_of(b, b + bytes, [](uint8_t x) { return x <= 1; }),
          source_,
          ": bool storage '",
          printable_name(key),
          "' holds bytes other than 0 and 1");
    }
    storages_[key] = v;
    return v;
  }

 private:
  Arena& arena_;
  caffe2::serialize::PyTorchStreamReader& reader_;
  const ZipDirectory& zip_;
  std::string source_;
  uint64_t budget_;
  std::map<std::string, ValuePtr> storages_;
};

bool starts_with(const std::string& bytes, const std::string& prefix) {
  return bytes.compare(0, prefix.size(), prefix) == 0;
}

// Both formats' names are unique (a dict's keys, a JSON object's); no
// PyTorch module names a parameter "", and safetensors writers refuse it.
void check_names(
    const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
    const std::string& source) {
  for (const auto& [name, tensor] : tensors) {
    check(!name.empty(), source, ": a tensor without a name (\"\")");
  }
}

} // namespace

std::string state_dict_format_name(StateDictFormat format) {
  return format == StateDictFormat::kPytorch ? "pytorch" : "safetensors";
}

std::vector<std::pair<std::string, torch::Tensor>> read_torch_zip(
    const std::string& bytes,
    const std::string& source) {
  // Python's legacy torch.save: a pickle starting with its magic number.
  check(
      !starts_with(bytes, std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46", 8)),
      source,
      ": PyTorch's legacy format (torch.save with "
      "_use_new_zipfile_serialization=False); save it again with "
      "torch.save's default (zip) format");
  const ZipDirectory zip = check_zip_directory(bytes, source);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(
        std::make_shared<BytesAdapter>(bytes));
  } catch (const std::exception& e) {
    fail(source, ": not a readable PyTorch zip file (", reason(e), ")");
  }
  std::vector<std::string> records;
  try {
    records = reader->getAllRecords();
  } catch (const std::exception& e) {
    fail(source, ": not a readable PyTorch zip file (", reason(e), ")");
  }
  const bool script =
      std::any_of(records.begin(), records.end(), [](const std::string& r) {
        return r == "constants.pkl" || r.rfind("code/", 0) == 0;
      });
  check(
      !script,
      source,
      ": a TorchScript archive (torch.jit.save, or an sdn checkpoint's "
      "model.pt), not a state_dict; save model.state_dict() with torch.save "
      "(an sdn checkpoint: sdn export)");
  check(
      reader->hasRecord("data.pkl"),
      source,
      ": a zip file without data.pkl, not written by torch.save");
  check_stored(zip, "data.pkl", source);
  std::string pickle;
  try {
    const auto [data, size] = reader->getRecord("data.pkl");
    pickle.assign(static_cast<const char*>(data.get()), size);
  } catch (const std::exception& e) {
    fail(source, ": cannot read data.pkl (", reason(e), ")");
  }
  check_crc(zip, "data.pkl", pickle.data(), pickle.size(), source);
  check(
      !pickle.empty() && static_cast<uint8_t>(pickle[0]) == 0x80,
      source,
      ": data.pkl is a pickle of protocol 0 or 1 (torch.save(..., "
      "pickle_protocol=0 or 1)), which sdn does not read; save it again with "
      "torch.save's default protocol");
  if (reader->hasRecord("byteorder")) {
    check_stored(zip, "byteorder", source);
    std::string order;
    try {
      const auto [data, size] = reader->getRecord("byteorder");
      order.assign(static_cast<const char*>(data.get()), size);
    } catch (const std::exception& e) {
      fail(source, ": cannot read its byteorder record (", reason(e), ")");
    }
    check_crc(zip, "byteorder", order.data(), order.size(), source);
    check(
        order == "little",
        source,
        ": tensors stored in byte order '",
        order,
        "', sdn reads little-endian files only");
  }
  Arena arena;
  StorageLoader storages(arena, *reader, zip, source, bytes.size());
  const ValuePtr top = Unpickler(
                           arena,
                           pickle,
                           source,
                           std::ref(storages),
                           kMaxTensorBytesPerFileByte * bytes.size())
                           .run();
  check(
      top->kind == Kind::kDict,
      source,
      ": holds ",
      kind_name(top->kind),
      ", expected a dict of names to tensors (a state_dict, as "
      "torch.save(model.state_dict(), FILE) writes)");
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [key, value] : top->entries) {
    check(
        key->kind == Kind::kString,
        source,
        ": a key of its dict is ",
        kind_name(key->kind),
        ", expected a name (a str)");
    check(
        value->kind == Kind::kTensor,
        source,
        ": '",
        printable_name(key->text),
        "' holds ",
        kind_name(value->kind),
        ", expected a tensor (a state_dict holds only tensors; a dict "
        "around one must be saved as the state_dict itself)");
    out.emplace_back(key->text, value->tensor);
  }
  return out;
}

StateDict read_state_dict(const std::string& bytes, const std::string& source) {
  StateDict out;
  if (starts_with(bytes, "PK\x03\x04") ||
      starts_with(bytes, std::string("\x80\x02\x8a\x0a", 4))) {
    out.format = StateDictFormat::kPytorch;
    out.tensors = read_torch_zip(bytes, source);
    check_names(out.tensors, source);
    return out;
  }
  check(
      bytes.size() > 8 && bytes[8] == '{',
      source,
      ": neither a PyTorch zip file (torch.save; it starts with PK\\x03\\x04) "
      "nor safetensors (an 8-byte header length, then '{'), ",
      bytes.size(),
      " bytes");
  out.format = StateDictFormat::kSafetensors;
  out.tensors = decode_safetensors(bytes, source).tensors;
  check_names(out.tensors, source);
  return out;
}

} // namespace sdn::checkpoint
