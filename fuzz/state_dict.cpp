// Fuzz target: a state_dict file as `sdn import` reads it
// (checkpoint::read_state_dict, from its bytes): a PyTorch zip file
// (LibTorch's zip reader, then sdn's own pickle reader) or safetensors,
// picked by content. What it accepts must be consistent: named tensors with
// unique, non-empty names, of the dtypes the readers document, on the CPU,
// contiguous, owning their memory, holding as many elements as their shape
// says (bool ones only 0 and 1), and all together at most
// kMaxTensorBytesPerFileByte times the file's size.
#include "sdn/checkpoint/state_dict.h"

#include "fuzz_support.h"

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

namespace {

[[noreturn]] void inconsistent(const std::string& what) {
  std::fprintf(stderr, "sdn fuzz: read_state_dict accepted %s\n", what.c_str());
  std::abort();
}

bool documented_dtype(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat64:
    case torch::kFloat32:
    case torch::kFloat16:
    case torch::kBFloat16:
    case torch::kInt64:
    case torch::kInt32:
    case torch::kInt16:
    case torch::kInt8:
    case torch::kUInt8:
    case torch::kBool:
      return true;
    default:
      return false;
  }
}

void check_tensor(const std::string& name, const torch::Tensor& t) {
  if (!t.defined()) {
    inconsistent("'" + name + "': an undefined tensor");
  }
  if (!t.device().is_cpu() || !t.is_contiguous() || t.requires_grad() ||
      !documented_dtype(t.scalar_type())) {
    inconsistent("'" + name + "': not a contiguous CPU tensor of its dtypes");
  }
  int64_t numel = 1;
  for (const int64_t d : t.sizes()) {
    if (d < 0 || __builtin_mul_overflow(numel, d, &numel)) {
      inconsistent("'" + name + "': a shape that overflows or is negative");
    }
  }
  if (numel != t.numel()) {
    inconsistent("'" + name + "': numel that does not match its shape");
  }
  if (numel == 0) {
    return;
  }
  const size_t bytes = static_cast<size_t>(numel) * t.element_size();
  if (t.storage_offset() != 0 || t.storage().nbytes() < bytes) {
    inconsistent("'" + name + "': a tensor that does not own its elements");
  }
  // Read every byte (AddressSanitizer checks the memory is the tensor's).
  const auto* p = static_cast<const uint8_t*>(t.data_ptr());
  uint8_t any = 0;
  for (size_t i = 0; i < bytes; ++i) {
    any |= p[i];
    if (t.scalar_type() == torch::kBool && p[i] > 1) {
      inconsistent("'" + name + "': a bool tensor holding a byte > 1");
    }
  }
  (void)any;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  sdn::fuzz::expect_clean("read_state_dict", [&] {
    const auto state = sdn::checkpoint::read_state_dict(bytes, "weights");
    const bool zip = bytes.rfind("PK\x03\x04", 0) == 0;
    if (zip != (state.format == sdn::checkpoint::StateDictFormat::kPytorch)) {
      inconsistent("a format other than its first bytes say");
    }
    std::set<std::string> names;
    size_t total = 0;
    for (const auto& [name, tensor] : state.tensors) {
      if (name.empty()) {
        inconsistent("a tensor without a name");
      }
      if (!names.insert(name).second) {
        inconsistent("the name '" + name + "' twice");
      }
      check_tensor(name, tensor);
      total += tensor.nbytes();
    }
    if (total > sdn::checkpoint::kMaxTensorBytesPerFileByte * bytes.size()) {
      inconsistent(
          "tensors of " + std::to_string(total) + " bytes from a file of " +
          std::to_string(bytes.size()));
    }
  });
  return 0;
}
