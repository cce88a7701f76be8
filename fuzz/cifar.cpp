// Fuzz target: a CIFAR binary file (data::read_cifar_file), read with both
// record layouts: CIFAR-10 (one label byte) and CIFAR-100 (coarse and fine).
#include "sdn/data/cifar.h"

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = sdn::fuzz::write_scratch(
      "data_batch_1.bin",
      std::string(reinterpret_cast<const char*>(data), size));
  sdn::data::CifarRecord cifar10;
  sdn::fuzz::expect_clean(
      "read_cifar_file", [&] { sdn::data::read_cifar_file(path, cifar10); });
  sdn::data::CifarRecord cifar100;
  cifar100.label_bytes = 2;
  cifar100.label_index = 1;
  cifar100.num_classes = 100;
  sdn::fuzz::expect_clean(
      "read_cifar_file", [&] { sdn::data::read_cifar_file(path, cifar100); });
  return 0;
}
