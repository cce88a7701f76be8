// Fuzz target: JPEG decoding as for Tiny ImageNet (data::decode_jpeg_rgb,
// 64 x 64 RGB or greyscale). libjpeg-turbo itself is Debian's build, not
// instrumented: the fuzzer is guided by sdn's side of the decoder only, but
// AddressSanitizer still checks every write into sdn's buffers.
#include "sdn/data/image_decode.h"

#include "fuzz_support.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr int64_t kSide = 64;
  std::vector<uint8_t> out(3 * kSide * kSide);
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  sdn::fuzz::expect_clean("decode_jpeg_rgb", [&] {
    sdn::data::decode_jpeg_rgb(bytes, "val_0.JPEG", kSide, out.data());
  });
  return 0;
}
