#pragma once

// Helpers for the data tests: temporary folders and writers of the real file
// formats (gzip via zlib, JPEG via libjpeg, PNG via libpng, IDX and CIFAR
// records).

#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

// jpeglib.h uses size_t and FILE without including their headers.
#include <cstddef>
#include <cstdio>

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace sdn::data::testing {

namespace fs = std::filesystem;

using sdn::testing::TempDir;

/// Writes bytes to a file, creating its folder.
inline void write_bytes(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  sdn::write_file_atomic(path, bytes);
}

/// Writes bytes gzip-compressed with zlib.
inline void write_gzip(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(
      gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
      static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

inline void put_be32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

/// An IDX3 image file: n images rows x cols, pixel (i, y, x) = pixel(i, y, x).
template <typename F>
std::string idx_images(uint32_t n, uint32_t rows, uint32_t cols, F pixel) {
  std::string out;
  put_be32(out, 2051);
  put_be32(out, n);
  put_be32(out, rows);
  put_be32(out, cols);
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t y = 0; y < rows; ++y) {
      for (uint32_t x = 0; x < cols; ++x) {
        out.push_back(static_cast<char>(pixel(i, y, x)));
      }
    }
  }
  return out;
}

/// An IDX1 label file.
inline std::string idx_labels(const std::vector<uint8_t>& labels) {
  std::string out;
  put_be32(out, 2049);
  put_be32(out, static_cast<uint32_t>(labels.size()));
  out.append(labels.begin(), labels.end());
  return out;
}

/// Encodes HWC pixels (1 or 3 channels) as a JPEG with libjpeg.
inline std::string encode_jpeg(
    const std::vector<uint8_t>& pixels,
    int width,
    int height,
    int channels,
    int quality = 95) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr error;
  cinfo.err = jpeg_std_error(&error);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(
        pixels.data() +
        static_cast<size_t>(cinfo.next_scanline) * width * channels);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<char*>(buffer), size);
  std::free(buffer);
  return out;
}

/// How encode_png writes an image.
struct PngLayout {
  int color_type = PNG_COLOR_TYPE_RGB; ///< PNG_COLOR_TYPE_*.
  int bit_depth = 8; ///< 1, 2, 4, 8 or 16.
  bool interlaced = false; ///< Adam7.
  std::vector<png_color> palette; ///< PNG_COLOR_TYPE_PALETTE.
  std::vector<png_byte> transparency; ///< tRNS alpha per palette entry.
};

/// Encodes `rows` (each row's samples packed as the layout says: big-endian
/// 16-bit samples, sub-byte samples packed high bit first) as a PNG with
/// libpng.
inline std::string encode_png(
    const std::vector<std::vector<uint8_t>>& rows,
    int width,
    const PngLayout& layout) {
  std::string out;
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(
      png,
      &out,
      [](png_structp p, png_bytep data, png_size_t length) {
        static_cast<std::string*>(png_get_io_ptr(p))
            ->append(reinterpret_cast<const char*>(data), length);
      },
      nullptr);
  png_set_IHDR(
      png,
      info,
      static_cast<png_uint_32>(width),
      static_cast<png_uint_32>(rows.size()),
      layout.bit_depth,
      layout.color_type,
      layout.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
      PNG_COMPRESSION_TYPE_DEFAULT,
      PNG_FILTER_TYPE_DEFAULT);
  if (!layout.palette.empty()) {
    png_set_PLTE(
        png,
        info,
        layout.palette.data(),
        static_cast<int>(layout.palette.size()));
  }
  if (!layout.transparency.empty()) {
    png_set_tRNS(
        png,
        info,
        layout.transparency.data(),
        static_cast<int>(layout.transparency.size()),
        nullptr);
  }
  std::vector<png_bytep> pointers;
  for (const auto& row : rows) {
    pointers.push_back(const_cast<png_bytep>(row.data()));
  }
  png_set_rows(png, info, pointers.data());
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

/// A flat-colour image (HWC).
inline std::vector<uint8_t> flat_image(
    int side,
    int channels,
    std::vector<uint8_t> colour) {
  std::vector<uint8_t> pixels;
  for (int i = 0; i < side * side; ++i) {
    for (int c = 0; c < channels; ++c) {
      pixels.push_back(colour[static_cast<size_t>(c)]);
    }
  }
  return pixels;
}

} // namespace sdn::data::testing

/// Expects `statement` to throw sdn::Error whose message contains every one of
/// the given substrings.
#define EXPECT_SDN_ERROR(statement, ...)                               \
  do {                                                                 \
    try {                                                              \
      statement;                                                       \
      ADD_FAILURE() << "no sdn::Error from " #statement;               \
    } catch (const sdn::Error& e) {                                    \
      for (const std::string part : {__VA_ARGS__}) {                   \
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) \
            << "message '" << e.what() << "' lacks '" << part << "'";  \
      }                                                                \
    }                                                                  \
  } while (0)
