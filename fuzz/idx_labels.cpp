// Fuzz target: an IDX label file, plain or gzip (data::read_idx_labels,
// through data::read_maybe_gzip), with 10 classes.
#include "sdn/data/idx.h"

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = sdn::fuzz::write_scratch(
      "train-labels-idx1-ubyte",
      std::string(reinterpret_cast<const char*>(data), size));
  sdn::fuzz::expect_clean(
      "read_idx_labels", [&] { sdn::data::read_idx_labels(path, 10); });
  return 0;
}
