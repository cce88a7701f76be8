// Fuzz target: JPEG and PNG decoding as for image folders
// (data::decode_image with resizing: any size up to the pixel limit,
// 1 and 3 channels) and as `sdn serve` pads MNIST-sized images.
// libjpeg-turbo, libpng and stb_image_resize are Debian's builds, not
// instrumented: the fuzzer is guided by sdn's side of the decoder, and
// AddressSanitizer checks every write into sdn's buffers.
#include "sdn/data/image_decode.h"

#include "fuzz_support.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr int64_t kSide = 32;
  std::vector<uint8_t> out(3 * kSide * kSide);
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  for (const int64_t channels : {1, 3}) {
    // Resized (image folders), and padded (`sdn serve`'s MNIST inputs).
    for (const auto fit :
         {sdn::data::ImageFit::kResizeCrop, sdn::data::ImageFit::kPad}) {
      sdn::fuzz::expect_clean("decode_image", [&] {
        sdn::data::decode_image(
            bytes, "image.png", channels, kSide, fit, out.data());
      });
    }
  }
  return 0;
}
