// Fuzz target: an IDX image file, plain or gzip (data::read_idx_images,
// through data::read_maybe_gzip), read as Fashion-MNIST is (side 32).
#include "sdn/data/idx.h"

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = sdn::fuzz::write_scratch(
      "train-images-idx3-ubyte",
      std::string(reinterpret_cast<const char*>(data), size));
  sdn::fuzz::expect_clean(
      "read_idx_images", [&] { sdn::data::read_idx_images(path, 32); });
  return 0;
}
