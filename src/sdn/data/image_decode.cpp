// JPEG (libjpeg-turbo) and PNG (libpng) decoding, channel conversion and
// resizing (stb_image_resize), and the parallel decoding of file lists.
#include "sdn/data/image_decode.h"

#include "sdn/device/threads.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/progress.h"

// jpeglib.h uses size_t and FILE without including their headers.
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>
// jerror.h after jpeglib.h: it needs its types.
#include <jerror.h>
#include <png.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csetjmp>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <new>
#include <thread>

namespace sdn::data {

namespace {

// An image as decoded: height x width x channels bytes (1 or 3 channels).
struct Decoded {
  int64_t width = 0;
  int64_t height = 0;
  int64_t channels = 0;
  std::vector<uint8_t> pixels;
  std::vector<uint8_t*> rows; // PNG: where each row goes
};

// "is WxH, expected SxS", or "" when the size is acceptable.
std::string size_problem(
    int64_t width,
    int64_t height,
    int64_t side,
    ImageFit fit,
    int64_t max_pixels) {
  if (fit == ImageFit::kExact) {
    if (width == side && height == side) {
      return "";
    }
    return "image is " + std::to_string(width) + "x" + std::to_string(height) +
        ", expected " + std::to_string(side) + "x" + std::to_string(side);
  }
  if (fit == ImageFit::kPad) {
    if (width <= side && height <= side && 2 * width >= side &&
        2 * height >= side) {
      return "";
    }
    return "image is " + std::to_string(width) + "x" + std::to_string(height) +
        ", expected at most " + std::to_string(side) + "x" +
        std::to_string(side) +
        " and at least half of it each way (padded "
        "to " +
        std::to_string(side) + "x" + std::to_string(side) + ")";
  }
  if (width <= 0 || height <= 0 || width * height > max_pixels) {
    return "image is " + std::to_string(width) + "x" + std::to_string(height) +
        ", more than the " + std::to_string(max_pixels) +
        " pixels sdn decodes here";
  }
  return "";
}

// libjpeg's default error_exit calls exit(); ours jumps back to the decoder.
struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* error = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, error->message);
  std::longjmp(error->jump, 1);
}

// Warnings stay silent, except that a file cut short is an error (libjpeg
// would pad it with grey; PIL refuses truncated images too).
void jpeg_warning(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    reinterpret_cast<JpegError*>(cinfo->err)->truncated = true;
  }
}

// C-style on purpose: no object with a destructor lives between setjmp and
// longjmp. Returns an empty string on success, else what went wrong.
std::string decode_jpeg(
    const std::string& bytes,
    int64_t side,
    ImageFit fit,
    int64_t max_pixels,
    Decoded& out) {
  jpeg_decompress_struct cinfo;
  JpegError error;
  cinfo.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = jpeg_error_exit;
  error.manager.emit_message = jpeg_warning;
  error.message[0] = '\0';
  error.truncated = false;
  if (setjmp(error.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return std::string("undecodable JPEG: ") + error.message;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(
      &cinfo,
      reinterpret_cast<const unsigned char*>(bytes.data()),
      static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  const bool grey = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  if (!grey && cinfo.num_components != 3) {
    jpeg_destroy_decompress(&cinfo);
    return "unsupported JPEG with " + std::to_string(cinfo.num_components) +
        " components";
  }
  // The size before jpeg_start_decompress, which allocates for it: a
  // progressive JPEG's header alone can ask for gigabytes
  // (fuzz/regressions/jpeg/).
  const std::string too_big = size_problem(
      cinfo.image_width, cinfo.image_height, side, fit, max_pixels);
  if (!too_big.empty()) {
    jpeg_destroy_decompress(&cinfo);
    return too_big;
  }
  cinfo.out_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  out.width = cinfo.output_width;
  out.height = cinfo.output_height;
  out.channels = cinfo.output_components;
  if (out.width != cinfo.image_width || out.height != cinfo.image_height ||
      out.channels != (grey ? 1 : 3)) {
    jpeg_destroy_decompress(&cinfo);
    return "unexpected JPEG output size";
  }
  out.pixels.resize(static_cast<size_t>(out.width * out.height * out.channels));
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[1] = {
        out.pixels.data() + cinfo.output_scanline * out.width * out.channels};
    jpeg_read_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return error.truncated ? "truncated JPEG data" : "";
}

// Where libpng reads from, and the message of its last error.
struct PngSource {
  const std::string* bytes;
  size_t at;
  char message[256];
};

void png_read_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (length > source->bytes->size() - source->at) {
    png_error(png, "truncated PNG data");
  }
  std::memcpy(data, source->bytes->data() + source->at, length);
  source->at += length;
}

void png_error_message(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->message, sizeof source->message, "%s", message);
  png_longjmp(png, 1);
}

// libpng's warnings (an odd sRGB profile, a bad ancillary chunk) are not
// errors: silent.
void png_warning_silent(png_structp, png_const_charp) {}

// C-style on purpose, as decode_jpeg. "" on success, else what went wrong.
std::string decode_png(
    const std::string& bytes,
    int64_t side,
    ImageFit fit,
    int64_t max_pixels,
    Decoded& out) {
  PngSource source{&bytes, 0, {}};
  png_structp png = png_create_read_struct(
      PNG_LIBPNG_VER_STRING, &source, png_error_message, png_warning_silent);
  if (png == nullptr) {
    return "out of memory for a PNG decoder";
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return "out of memory for a PNG decoder";
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return std::string("undecodable PNG: ") + source.message;
  }
  png_set_read_fn(png, &source, png_read_bytes);
  png_read_info(png, info);
  const int64_t width = png_get_image_width(png, info);
  const int64_t height = png_get_image_height(png, info);
  const std::string too_big =
      size_problem(width, height, side, fit, max_pixels);
  if (!too_big.empty()) {
    png_destroy_read_struct(&png, &info, nullptr);
    return too_big;
  }
  const int color = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) {
    png_set_palette_to_rgb(png);
  }
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  if (depth == 16) {
    png_set_strip_16(png);
  }
  // Alpha, and the transparency (tRNS) that the palette expansion turns
  // into alpha, are dropped.
  if ((color & PNG_COLOR_MASK_ALPHA) != 0 ||
      png_get_valid(png, info, PNG_INFO_tRNS) != 0) {
    png_set_strip_alpha(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out.width = width;
  out.height = height;
  out.channels = png_get_channels(png, info);
  if ((out.channels != 1 && out.channels != 3) ||
      png_get_rowbytes(png, info) !=
          static_cast<png_size_t>(width * out.channels)) {
    png_destroy_read_struct(&png, &info, nullptr);
    return "unexpected PNG layout after conversion";
  }
  out.pixels.resize(static_cast<size_t>(width * height * out.channels));
  out.rows.resize(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) {
    out.rows[static_cast<size_t>(y)] =
        out.pixels.data() + y * width * out.channels;
  }
  png_read_image(png, out.rows.data());
  png_destroy_read_struct(&png, &info, nullptr);
  return "";
}

// The decoded image with `channels` channels (HWC): greyscale repeated to
// RGB, RGB to PIL's ITU-R 601 luma.
std::vector<uint8_t> with_channels(const Decoded& image, int64_t channels) {
  const int64_t n = image.width * image.height;
  if (image.channels == channels) {
    return image.pixels;
  }
  std::vector<uint8_t> out(static_cast<size_t>(n * channels));
  const uint8_t* in = image.pixels.data();
  if (channels == 3) {
    for (int64_t i = 0; i < n; ++i) {
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = in[i];
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t r = in[3 * i];
      const uint32_t g = in[3 * i + 1];
      const uint32_t b = in[3 * i + 2];
      out[i] = static_cast<uint8_t>(
          (19595 * r + 38470 * g + 7471 * b + 32768) >> 16);
    }
  }
  return out;
}

} // namespace

std::string read_image_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || status.type() != std::filesystem::file_type::regular) {
    return read_file(path); // throws its message: missing, a folder, a FIFO
  }
  const auto size = std::filesystem::file_size(path, ec);
  check(!ec, path, ": cannot read its size (", ec.message(), ")");
  check(
      size <= static_cast<uintmax_t>(kMaxImageFileBytes),
      path,
      ": ",
      size,
      " bytes, more than the ",
      kMaxImageFileBytes,
      " an image file may have");
  std::ifstream in(path, std::ios::binary);
  check(in.is_open(), path, ": cannot open file (", std::strerror(errno), ")");
  std::string head(8, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  check(
      is_jpeg(head) || is_png(head),
      path,
      ": not a JPEG or PNG image (",
      size,
      " bytes without either signature)");
  return read_file(path);
}

bool is_jpeg(const std::string& bytes) {
  return bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF &&
      static_cast<uint8_t>(bytes[1]) == 0xD8 &&
      static_cast<uint8_t>(bytes[2]) == 0xFF;
}

bool is_png(const std::string& bytes) {
  static const char kSignature[8] = {
      '\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kSignature, 8) == 0;
}

void decode_image(
    const std::string& bytes,
    const std::string& source,
    int64_t channels,
    int64_t side,
    ImageFit fit,
    uint8_t* out,
    int64_t max_pixels) {
  check(
      channels == 1 || channels == 3,
      "decode_image: channels must be 1 or 3, got ",
      channels);
  check(
      max_pixels > 0 && max_pixels <= kMaxImagePixels,
      "decode_image: max_pixels must be in [1, ",
      kMaxImagePixels,
      "], got ",
      max_pixels);
  check(side > 0, "decode_image: side must be > 0, got ", side);
  Decoded image;
  std::string problem;
  if (is_jpeg(bytes)) {
    problem = decode_jpeg(bytes, side, fit, max_pixels, image);
  } else if (is_png(bytes)) {
    problem = decode_png(bytes, side, fit, max_pixels, image);
  } else {
    problem = "not a JPEG or PNG image (" + std::to_string(bytes.size()) +
        " bytes without either signature)";
  }
  check(problem.empty(), source, ": ", problem);
  std::vector<uint8_t> pixels = with_channels(image, channels);
  const int64_t w = image.width;
  const int64_t h = image.height;
  const int64_t plane = side * side;
  if (fit == ImageFit::kPad) {
    std::fill(out, out + channels * plane, uint8_t{0});
    const int64_t top = (side - h) / 2;
    const int64_t left = (side - w) / 2;
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        for (int64_t c = 0; c < channels; ++c) {
          out[c * plane + (y + top) * side + x + left] =
              pixels[static_cast<size_t>((y * w + x) * channels + c)];
        }
      }
    }
    return;
  }
  // The centre square, then resampled to side x side when it differs.
  const int64_t square = std::min(w, h);
  const int64_t x0 = (w - square) / 2;
  const int64_t y0 = (h - square) / 2;
  const uint8_t* from = pixels.data() + (y0 * w + x0) * channels;
  int64_t stride = w * channels;
  std::vector<uint8_t> resized;
  if (square != side) {
    resized.resize(static_cast<size_t>(side * side * channels));
    const int ok = stbir_resize_uint8_generic(
        from,
        static_cast<int>(square),
        static_cast<int>(square),
        static_cast<int>(stride),
        resized.data(),
        static_cast<int>(side),
        static_cast<int>(side),
        static_cast<int>(side * channels),
        static_cast<int>(channels),
        STBIR_ALPHA_CHANNEL_NONE,
        0,
        STBIR_EDGE_CLAMP,
        STBIR_FILTER_DEFAULT,
        STBIR_COLORSPACE_LINEAR,
        nullptr);
    check(ok == 1, source, ": resizing to ", side, "x", side, " failed");
    from = resized.data();
    stride = side * channels;
  }
  for (int64_t y = 0; y < side; ++y) {
    const uint8_t* row = from + y * stride;
    for (int64_t x = 0; x < side; ++x) {
      for (int64_t c = 0; c < channels; ++c) {
        out[c * plane + y * side + x] = row[x * channels + c];
      }
    }
  }
}

void decode_jpeg_rgb(
    const std::string& bytes,
    const std::string& path,
    int64_t side,
    uint8_t* out) {
  check(is_jpeg(bytes), path, ": undecodable JPEG: no JPEG signature");
  decode_image(bytes, path, 3, side, ImageFit::kExact, out);
}

torch::Tensor decode_image_files(
    const std::vector<std::string>& paths,
    int64_t channels,
    int64_t side,
    ImageFit fit,
    const std::string& label,
    bool show_progress) {
  const auto n = static_cast<int64_t>(paths.size());
  torch::Tensor images = torch::empty({n, channels, side, side}, torch::kUInt8);
  auto* pixels = images.data_ptr<uint8_t>();
  const int64_t image_bytes = channels * side * side;
  const int workers = static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>(hardware_threads(), n)));
  std::atomic<int64_t> done{0};
  std::vector<std::exception_ptr> errors(static_cast<size_t>(workers));
  std::vector<int64_t> error_index(static_cast<size_t>(workers), n);
  auto work = [&](int w) {
    // Strided so that every worker sees a similar mix of file sizes.
    for (int64_t i = w; i < n; i += workers) {
      try {
        const std::string& path = paths[static_cast<size_t>(i)];
        check(std::filesystem::exists(path), "missing file ", path);
        try {
          decode_image(
              read_image_file(path),
              path,
              channels,
              side,
              fit,
              pixels + i * image_bytes);
        } catch (const std::bad_alloc&) {
          throw Error(path + ": out of memory decoding it");
        }
      } catch (...) {
        errors[static_cast<size_t>(w)] = std::current_exception();
        error_index[static_cast<size_t>(w)] = i;
        return;
      }
      done.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back(work, w);
  }
  Progress progress(label, n, "img", show_progress);
  int64_t shown = 0;
  auto running = [&] {
    for (int w = 0; w < workers; ++w) {
      if (errors[static_cast<size_t>(w)]) {
        return false;
      }
    }
    return done.load() < n;
  };
  while (running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int64_t now = done.load();
    progress.advance(now - shown);
    shown = now;
  }
  for (auto& t : threads) {
    t.join();
  }
  // The error of the earliest file, so that the message is deterministic.
  int64_t first = n;
  std::exception_ptr error;
  for (int w = 0; w < workers; ++w) {
    if (errors[static_cast<size_t>(w)] &&
        error_index[static_cast<size_t>(w)] < first) {
      first = error_index[static_cast<size_t>(w)];
      error = errors[static_cast<size_t>(w)];
    }
  }
  if (error) {
    std::rethrow_exception(error);
  }
  progress.advance(done.load() - shown);
  progress.finish();
  return images;
}

} // namespace sdn::data
