// Fuzz target: a checkpoint's meta.json (checkpoint::read_checkpoint_meta,
// through checkpoint::checkpoint_meta_from_json) and the network options it
// describes.
#include "sdn/checkpoint/checkpoint.h"

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sdn::fuzz::write_scratch(
      "checkpoint/meta.json",
      std::string(reinterpret_cast<const char*>(data), size));
  const std::string dir = sdn::fuzz::scratch_dir() + "/checkpoint";
  sdn::fuzz::expect_clean("read_checkpoint_meta", [&] {
    const auto meta = sdn::checkpoint::read_checkpoint_meta(dir);
    meta.network_options();
  });
  return 0;
}
