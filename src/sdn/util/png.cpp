#include "sdn/util/png.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <png.h>

namespace sdn {

namespace {
void append_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), length);
}
void no_flush(png_structp) {}
} // namespace

std::string encode_png(
    const std::vector<uint8_t>& pixels,
    int64_t width,
    int64_t height,
    int64_t channels) {
  check(
      width > 0 && height > 0,
      "PNG size must be positive, got ",
      width,
      "x",
      height);
  check(
      channels == 1 || channels == 3,
      "PNG needs 1 or 3 channels, got ",
      channels);
  check(
      static_cast<int64_t>(pixels.size()) == width * height * channels,
      "PNG pixel buffer holds ",
      pixels.size(),
      " bytes, expected ",
      width * height * channels);
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  check(png != nullptr, "cannot create PNG writer");
  png_infop info = png_create_info_struct(png);
  std::string out;
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fail("PNG encoding failed");
  }
  png_set_write_fn(png, &out, append_bytes, no_flush);
  png_set_IHDR(
      png,
      info,
      static_cast<png_uint_32>(width),
      static_cast<png_uint_32>(height),
      8,
      channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
      PNG_INTERLACE_NONE,
      PNG_COMPRESSION_TYPE_DEFAULT,
      PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int64_t y = 0; y < height; ++y) {
    png_write_row(
        png, const_cast<png_bytep>(pixels.data() + y * width * channels));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

void write_png(
    const std::string& path,
    const std::vector<uint8_t>& pixels,
    int64_t width,
    int64_t height,
    int64_t channels) {
  write_file_atomic(path, encode_png(pixels, width, height, channels));
}

} // namespace sdn
