// Fuzz target: a .npy file (analysis::parse_npy_header through
// analysis::read_npy_float32 and analysis::read_npy_int64).
#include "sdn/analysis/npy.h"

#include "fuzz_support.h"

#include <cstdlib>

namespace {

// What a successful read promises: as many elements as the shape says.
template <typename Array>
void check_consistent(const Array& array) {
  size_t n = 1;
  for (const int64_t d : array.shape) {
    if (d < 0) {
      std::abort();
    }
    n *= static_cast<size_t>(d);
  }
  if (n != array.data.size()) {
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string path = sdn::fuzz::write_scratch("probs.npy", bytes);
  sdn::fuzz::expect_clean("parse_npy_header", [&] {
    sdn::analysis::parse_npy_header(bytes, path);
  });
  sdn::fuzz::expect_clean("read_npy_float32", [&] {
    check_consistent(sdn::analysis::read_npy_float32(path));
  });
  sdn::fuzz::expect_clean("read_npy_int64", [&] {
    check_consistent(sdn::analysis::read_npy_int64(path));
  });
  return 0;
}
