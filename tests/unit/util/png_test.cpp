#include "sdn/util/png.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include "temp_dir.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

// Decodes `png` with libpng's simplified API into 8-bit pixels of `format`.
std::vector<uint8_t> decode(
    const std::string& png,
    uint32_t format,
    png_uint_32& width,
    png_uint_32& height) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  EXPECT_TRUE(png_image_begin_read_from_memory(&image, png.data(), png.size()))
      << image.message;
  image.format = format;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  EXPECT_TRUE(png_image_finish_read(
      &image, nullptr, pixels.data(), /*row_stride=*/0, nullptr))
      << image.message;
  width = image.width;
  height = image.height;
  return pixels;
}

} // namespace

TEST(Png, EncodesGreyAndRgbLosslessly) {
  const std::vector<uint8_t> grey = {0, 64, 128, 255, 1, 2};
  png_uint_32 w = 0;
  png_uint_32 h = 0;
  EXPECT_EQ(
      decode(sdn::encode_png(grey, 3, 2, 1), PNG_FORMAT_GRAY, w, h), grey);
  EXPECT_EQ(w, 3u);
  EXPECT_EQ(h, 2u);
  std::vector<uint8_t> rgb(2 * 2 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) {
    rgb[i] = static_cast<uint8_t>(i * 20);
  }
  EXPECT_EQ(decode(sdn::encode_png(rgb, 2, 2, 3), PNG_FORMAT_RGB, w, h), rgb);
}

TEST(Png, RejectsSizesThatDoNotMatchThePixels) {
  const std::vector<uint8_t> four(4);
  EXPECT_THROW(sdn::encode_png(four, 3, 2, 1), sdn::Error);
  EXPECT_THROW(sdn::encode_png(four, 2, 2, 2), sdn::Error);
  EXPECT_THROW(sdn::encode_png(four, 0, 4, 1), sdn::Error);
}

TEST(Png, WritePngWritesTheEncodedFile) {
  const sdn::testing::TempDir dir("png");
  const std::vector<uint8_t> pixels = {10, 20, 30, 40};
  sdn::write_png(dir.str("a.png"), pixels, 2, 2, 1);
  EXPECT_EQ(sdn::read_file(dir.str("a.png")), sdn::encode_png(pixels, 2, 2, 1));
}
