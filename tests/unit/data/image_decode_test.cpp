#include "sdn/data/image_decode.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <zlib.h>

using namespace sdn::data;
using namespace sdn::data::testing;

namespace {

// decode_image's output as a vector (channels x side x side, CHW).
std::vector<uint8_t> decoded(
    const std::string& bytes,
    int64_t channels,
    int64_t side,
    ImageFit fit = ImageFit::kResizeCrop) {
  std::vector<uint8_t> out(static_cast<size_t>(channels * side * side));
  decode_image(bytes, "img.png", channels, side, fit, out.data());
  return out;
}

// 4x4 rows of one value per sample.
std::vector<std::vector<uint8_t>> rows_of(
    int height,
    std::vector<uint8_t> row) {
  return std::vector<std::vector<uint8_t>>(static_cast<size_t>(height), row);
}

// A 4x4 RGB image whose pixel (x, y) is (10x + y, 100 + x, 200 - y), HWC.
std::vector<std::vector<uint8_t>> rgb_rows() {
  std::vector<std::vector<uint8_t>> rows;
  for (int y = 0; y < 4; ++y) {
    std::vector<uint8_t> row;
    for (int x = 0; x < 4; ++x) {
      row.push_back(static_cast<uint8_t>(10 * x + y));
      row.push_back(static_cast<uint8_t>(100 + x));
      row.push_back(static_cast<uint8_t>(200 - y));
    }
    rows.push_back(row);
  }
  return rows;
}

uint8_t rgb_at(int c, int x, int y) {
  const int v[3] = {10 * x + y, 100 + x, 200 - y};
  return static_cast<uint8_t>(v[c]);
}

} // namespace

TEST(ImageDecode, RgbPngIsStoredValuesInChwAndLumaForOneChannel) {
  const std::string png = encode_png(rgb_rows(), 4, PngLayout{});
  const auto rgb = decoded(png, 3, 4);
  const auto grey = decoded(png, 1, 4);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(rgb[c * 16 + y * 4 + x], rgb_at(c, x, y));
      }
      // PIL's convert("L"): (19595 R + 38470 G + 7471 B + 32768) >> 16.
      const uint32_t l = (19595u * rgb_at(0, x, y) + 38470u * rgb_at(1, x, y) +
                          7471u * rgb_at(2, x, y) + 32768u) >>
          16;
      EXPECT_EQ(grey[y * 4 + x], l);
    }
  }
}

TEST(ImageDecode, ColourTypesAndDepthsGiveWhatPilsConvertGives) {
  // Greyscale 8-bit, repeated to three channels.
  PngLayout grey;
  grey.color_type = PNG_COLOR_TYPE_GRAY;
  const auto g =
      decoded(encode_png(rows_of(4, {0, 50, 200, 255}), 4, grey), 3, 4);
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(g[c * 16 + 5], 50);
    EXPECT_EQ(g[c * 16 + 7], 255);
  }
  // RGBA: alpha dropped, colours kept even where fully transparent.
  PngLayout rgba;
  rgba.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
  const auto a = decoded(
      encode_png(
          rows_of(4, {1, 2, 3, 0, 4, 5, 6, 255, 7, 8, 9, 128, 1, 1, 1, 1}),
          4,
          rgba),
      3,
      4);
  EXPECT_EQ(a[0], 1);
  EXPECT_EQ(a[16], 2);
  EXPECT_EQ(a[32 + 1], 6);
  // Grey + alpha: the grey.
  PngLayout grey_alpha;
  grey_alpha.color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
  const auto ga = decoded(
      encode_png(rows_of(4, {9, 0, 90, 255, 190, 7, 250, 1}), 4, grey_alpha),
      1,
      4);
  EXPECT_EQ(
      (std::vector<uint8_t>(ga.begin(), ga.begin() + 4)),
      (std::vector<uint8_t>{9, 90, 190, 250}));
  // Palette with transparency: the palette's colours.
  PngLayout palette;
  palette.color_type = PNG_COLOR_TYPE_PALETTE;
  palette.palette = {{10, 20, 30}, {200, 100, 0}};
  palette.transparency = {0, 255};
  const auto p =
      decoded(encode_png(rows_of(4, {0, 1, 1, 0}), 4, palette), 3, 4);
  EXPECT_EQ(p[0], 10);
  EXPECT_EQ(p[1], 200);
  EXPECT_EQ(p[16 + 1], 100);
  EXPECT_EQ(p[32 + 0], 30);
  // 16-bit RGB: the high byte of each sample (big-endian in the file).
  PngLayout deep;
  deep.bit_depth = 16;
  std::vector<uint8_t> row16;
  for (int x = 0; x < 4; ++x) {
    for (int c = 0; c < 3; ++c) {
      row16.push_back(static_cast<uint8_t>(60 * c + x)); // high
      row16.push_back(0xff); // low
    }
  }
  const auto d = decoded(encode_png(rows_of(4, row16), 4, deep), 3, 4);
  EXPECT_EQ(d[3], 3);
  EXPECT_EQ(d[16 + 2], 62);
  EXPECT_EQ(d[32 + 1], 121);
  // 16-bit greyscale.
  PngLayout deep_grey;
  deep_grey.color_type = PNG_COLOR_TYPE_GRAY;
  deep_grey.bit_depth = 16;
  const auto dg = decoded(
      encode_png(
          rows_of(4, {0x12, 0x34, 0xab, 0xcd, 0, 0, 0xff, 0xff}), 4, deep_grey),
      1,
      4);
  EXPECT_EQ(
      (std::vector<uint8_t>(dg.begin(), dg.begin() + 4)),
      (std::vector<uint8_t>{0x12, 0xab, 0, 0xff}));
  // 1-bit greyscale: 0 and 255.
  PngLayout bits;
  bits.color_type = PNG_COLOR_TYPE_GRAY;
  bits.bit_depth = 1;
  const auto b = decoded(encode_png(rows_of(4, {0xa0}), 4, bits), 1, 4);
  EXPECT_EQ(
      (std::vector<uint8_t>(b.begin(), b.begin() + 4)),
      (std::vector<uint8_t>{255, 0, 255, 0}));
  // Interlaced (Adam7): the same pixels.
  PngLayout interlaced;
  interlaced.interlaced = true;
  EXPECT_EQ(
      decoded(encode_png(rgb_rows(), 4, interlaced), 3, 4),
      decoded(encode_png(rgb_rows(), 4, PngLayout{}), 3, 4));
}

TEST(ImageDecode, JpegGreyAndRgb) {
  const auto grey = decoded(encode_jpeg(flat_image(8, 1, {77}), 8, 8, 1), 3, 8);
  for (const uint8_t v : grey) {
    EXPECT_NEAR(v, 77, 1);
  }
  const auto rgb =
      decoded(encode_jpeg(flat_image(8, 3, {200, 30, 90}), 8, 8, 3), 3, 8);
  EXPECT_NEAR(rgb[0], 200, 3);
  EXPECT_NEAR(rgb[64], 30, 3);
  EXPECT_NEAR(rgb[128], 90, 3);
}

TEST(ImageDecode, ResizeKeepsTheCentreSquareAndFlatColours) {
  // 64 wide, 32 high: a red left quarter, a green middle half, a blue right
  // quarter. The centre 32x32 square is all green, whatever the side.
  std::vector<std::vector<uint8_t>> rows;
  for (int y = 0; y < 32; ++y) {
    std::vector<uint8_t> row;
    for (int x = 0; x < 64; ++x) {
      const int part = x < 16 ? 0 : x < 48 ? 1 : 2;
      for (int c = 0; c < 3; ++c) {
        row.push_back(c == part ? 255 : 0);
      }
    }
    rows.push_back(row);
  }
  const std::string wide = encode_png(rows, 64, PngLayout{});
  for (const int64_t side : {16, 32, 64}) {
    const auto out = decoded(wide, 3, side);
    for (int64_t i = 0; i < side * side; ++i) {
      ASSERT_EQ(out[i], 0) << side;
      ASSERT_EQ(out[side * side + i], 255) << side;
      ASSERT_EQ(out[2 * side * side + i], 0) << side;
    }
  }
  // Enlarged and shrunk, a flat image stays flat.
  const std::string small =
      encode_png(rows_of(8, std::vector<uint8_t>(24, 90)), 8, PngLayout{});
  for (const uint8_t v : decoded(small, 3, 32)) {
    ASSERT_EQ(v, 90);
  }
  // A fine checkerboard shrunk by 2 averages to mid grey.
  std::vector<std::vector<uint8_t>> checker;
  for (int y = 0; y < 64; ++y) {
    std::vector<uint8_t> row;
    for (int x = 0; x < 64; ++x) {
      row.push_back((x + y) % 2 == 0 ? 255 : 0);
    }
    checker.push_back(row);
  }
  PngLayout grey;
  grey.color_type = PNG_COLOR_TYPE_GRAY;
  for (const uint8_t v : decoded(encode_png(checker, 64, grey), 1, 32)) {
    ASSERT_NEAR(v, 128, 8);
  }
  // kExact refuses any other size.
  EXPECT_SDN_ERROR(
      decoded(wide, 3, 32, ImageFit::kExact),
      "img.png",
      "64x32, expected 32x32");
}

// kPad centres an image of at most side x side (at least half of it) on
// zeros, as read_idx_images pads MNIST's 28x28 to 32x32.
TEST(ImageDecode, PadCentresSmallerImagesOnZeros) {
  PngLayout grey;
  grey.color_type = PNG_COLOR_TYPE_GRAY;
  std::vector<std::vector<uint8_t>> rows;
  for (int y = 0; y < 5; ++y) {
    std::vector<uint8_t> row;
    for (int x = 0; x < 6; ++x) {
      row.push_back(static_cast<uint8_t>(1 + 10 * y + x));
    }
    rows.push_back(row);
  }
  const auto out = decoded(encode_png(rows, 6, grey), 1, 8, ImageFit::kPad);
  // Top offset (8 - 5) / 2 = 1, left (8 - 6) / 2 = 1.
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      const bool inside = y >= 1 && y < 6 && x >= 1 && x < 7;
      const int want = inside ? 1 + 10 * (y - 1) + (x - 1) : 0;
      ASSERT_EQ(out[static_cast<size_t>(y * 8 + x)], want) << x << "," << y;
    }
  }
  // Greyscale repeated to RGB, like the other fits.
  const auto rgb = decoded(encode_png(rows, 6, grey), 3, 8, ImageFit::kPad);
  EXPECT_EQ(rgb[2 * 64 + 9], 1);
  // Larger than the side, or smaller than half of it: refused.
  EXPECT_SDN_ERROR(
      decoded(encode_png(rows, 6, grey), 1, 4, ImageFit::kPad),
      "img.png",
      "6x5, expected at most 4x4");
  EXPECT_SDN_ERROR(
      decoded(encode_png(rows, 6, grey), 1, 11, ImageFit::kPad),
      "img.png",
      "at least half");
}

TEST(ImageDecode, BadBytesAreErrorsNamingTheFile) {
  EXPECT_SDN_ERROR(decoded("GIF89a....", 3, 8), "img.png", "not a JPEG or PNG");
  EXPECT_SDN_ERROR(decoded("", 3, 8), "img.png", "not a JPEG or PNG");
  const std::string png = encode_png(rgb_rows(), 4, PngLayout{});
  for (const size_t keep : {10UL, 30UL, png.size() - 20}) {
    EXPECT_SDN_ERROR(decoded(png.substr(0, keep), 3, 8), "img.png", "PNG");
  }
  std::string corrupt = png;
  corrupt[corrupt.size() / 2 + 10] ^= 0x55; // inside IDAT: a CRC error
  EXPECT_SDN_ERROR(decoded(corrupt, 3, 8), "img.png", "undecodable PNG");
  // An IHDR claiming 20000 x 20000 (with a valid CRC) is refused from the
  // header, before any pixel memory.
  std::string huge = png;
  const size_t ihdr = huge.find("IHDR");
  ASSERT_NE(ihdr, std::string::npos);
  huge.replace(ihdr + 4, 8, std::string("\x00\x00\x4e\x20\x00\x00\x4e\x20", 8));
  const uLong crc =
      crc32(0, reinterpret_cast<const Bytef*>(huge.data() + ihdr), 17);
  for (int i = 0; i < 4; ++i) {
    huge[ihdr + 17 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  }
  EXPECT_SDN_ERROR(
      decoded(huge, 3, 8), "img.png", "20000x20000, more than the 67108864");
  EXPECT_SDN_ERROR(
      decode_image(png, "x", 2, 8, ImageFit::kResizeCrop, nullptr),
      "channels must be 1 or 3");
}

TEST(ImageDecode, FilesInParallelInListOrderWithTheFirstError) {
  TempDir dir("decode_files");
  std::vector<std::string> paths;
  for (int i = 0; i < 9; ++i) {
    paths.push_back(dir.str("img" + std::to_string(i) + ".png"));
    write_bytes(
        paths.back(),
        encode_png(
            rows_of(4, std::vector<uint8_t>(12, static_cast<uint8_t>(i * 20))),
            4,
            PngLayout{}));
  }
  const torch::Tensor images =
      decode_image_files(paths, 1, 4, ImageFit::kExact, "t", false);
  ASSERT_EQ(images.sizes(), (torch::IntArrayRef{9, 1, 4, 4}));
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(images[i][0][2][3].item<int>(), i * 20);
  }
  write_bytes(paths[7], "broken");
  write_bytes(paths[4], "broken");
  EXPECT_SDN_ERROR(
      decode_image_files(paths, 1, 4, ImageFit::kExact, "t", false),
      "img4.png",
      "not a JPEG or PNG");
  std::filesystem::remove(paths[2]);
  EXPECT_SDN_ERROR(
      decode_image_files(paths, 1, 4, ImageFit::kExact, "t", false),
      "missing file",
      "img2.png");
}
