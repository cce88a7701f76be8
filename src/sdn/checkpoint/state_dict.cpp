#include "sdn/checkpoint/state_dict.h"

#include "sdn/checkpoint/export.h"
#include "sdn/util/error.h"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
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

// The first line of a LibTorch error (without its backtrace).
std::string reason(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  const size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
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
  Unpickler(
      Arena& arena,
      const std::string& pickle,
      std::string where,
      std::function<ValuePtr(const Value& id)> load_storage)
      : arena_(arena),
        pickle_(pickle),
        where_(std::move(where)),
        load_storage_(std::move(load_storage)) {}

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
        name,
        ", which sdn does not read (a state_dict holds only a dict of names "
        "to tensors)");
  }

  ValuePtr make(Kind kind) {
    return arena_.make(kind);
  }

  Arena& arena_;
  const std::string& pickle_;
  std::string where_;
  std::function<ValuePtr(const Value& id)> load_storage_;
  size_t pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
};

// A torch.save persistent id ('storage', torch.XStorage, key, location,
// numel): the record data/KEY as a 1-D tensor, read once per key.
class StorageLoader {
 public:
  StorageLoader(
      Arena& arena,
      caffe2::serialize::PyTorchStreamReader& reader,
      std::string source)
      : arena_(arena), reader_(reader), source_(std::move(source)) {}

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
    at::DataPtr data;
    size_t bytes = 0;
    try {
      std::tie(data, bytes) = reader_.getRecord(record);
    } catch (const std::exception& e) {
      fail(source_, ": cannot read record '", record, "' (", reason(e), ")");
    }
    const int64_t numel = id.items[4]->integer;
    const size_t element = torch::elementSize(type->second);
    check(
        numel >= 0 && bytes % element == 0 &&
            bytes / element == static_cast<uint64_t>(numel),
        source_,
        ": record '",
        record,
        "' holds ",
        bytes,
        " bytes, but the pickle says ",
        numel,
        " elements of ",
        element,
        " bytes");
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
          key,
          "' holds bytes other than 0 and 1");
    }
    storages_[key] = v;
    return v;
  }

 private:
  Arena& arena_;
  caffe2::serialize::PyTorchStreamReader& reader_;
  std::string source_;
  std::map<std::string, ValuePtr> storages_;
};

bool starts_with(const std::string& bytes, const std::string& prefix) {
  return bytes.compare(0, prefix.size(), prefix) == 0;
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
  std::string pickle;
  try {
    const auto [data, size] = reader->getRecord("data.pkl");
    pickle.assign(static_cast<const char*>(data.get()), size);
  } catch (const std::exception& e) {
    fail(source, ": cannot read data.pkl (", reason(e), ")");
  }
  if (reader->hasRecord("byteorder")) {
    std::string order;
    try {
      const auto [data, size] = reader->getRecord("byteorder");
      order.assign(static_cast<const char*>(data.get()), size);
    } catch (const std::exception& e) {
      fail(source, ": cannot read its byteorder record (", reason(e), ")");
    }
    check(
        order == "little",
        source,
        ": tensors stored in byte order '",
        order,
        "', sdn reads little-endian files only");
  }
  Arena arena;
  StorageLoader storages(arena, *reader, source);
  const ValuePtr top =
      Unpickler(arena, pickle, source, std::ref(storages)).run();
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
        key->text,
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
  return out;
}

} // namespace sdn::checkpoint
