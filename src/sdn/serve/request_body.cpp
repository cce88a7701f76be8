#include "sdn/serve/request_body.h"

#include "sdn/analysis/npy.h"
#include "sdn/data/loader.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <vector>

namespace sdn::serve {

namespace {

// The media type of a Content-Type value: before ';', trimmed, lower case.
std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  const auto first = type.find_first_not_of(" \t");
  const auto last = type.find_last_not_of(" \t");
  type = first == std::string::npos ? "" : type.substr(first, last - first + 1);
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return type;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return text + "]";
}

DecodedBody decode_image_body(
    const std::string& type,
    const std::string& body,
    const InputSpec& spec) {
  const bool png = type == "image/png";
  if (png ? !data::is_png(body) : !data::is_jpeg(body)) {
    throw RequestError(
        400,
        "body: Content-Type " + type + " but the body is not a " +
            (png ? "PNG" : "JPEG") + " image (no " + (png ? "PNG" : "JPEG") +
            " signature in its " + std::to_string(body.size()) + " bytes)");
  }
  const auto& info = spec.info;
  auto pixels =
      torch::empty({1, info.channels, info.side, info.side}, torch::kUInt8);
  try {
    data::decode_image(
        body,
        "body",
        info.channels,
        info.side,
        spec.fit,
        pixels.data_ptr<uint8_t>(),
        kMaxBodyImagePixels);
  } catch (const Error& e) {
    throw RequestError(400, e.what());
  }
  DecodedBody out;
  out.images = data::normalize(pixels, info).contiguous();
  out.batched = false;
  return out;
}

DecodedBody decode_npy_body(const std::string& body, const InputSpec& spec) {
  analysis::NpyHeader header;
  try {
    header = analysis::parse_npy_header(body, "body");
  } catch (const Error& e) {
    throw RequestError(400, e.what());
  }
  if (header.descr != "<f4" || header.fortran_order) {
    throw RequestError(
        400,
        "body: expected a C-ordered float32 ('<f4') .npy, got dtype '" +
            header.descr + "'" +
            (header.fortran_order ? " in Fortran order" : ""));
  }
  const auto& info = spec.info;
  const std::vector<int64_t> image = {info.channels, info.side, info.side};
  const auto& shape = header.shape;
  const bool one = shape.size() == 3;
  const bool many = shape.size() == 4;
  if ((!one && !many) ||
      !std::equal(image.begin(), image.end(), shape.end() - 3)) {
    throw RequestError(
        400,
        "body: expected an .npy of shape " + shape_text(image) + " or [N, " +
            std::to_string(info.channels) + ", " + std::to_string(info.side) +
            ", " + std::to_string(info.side) + "], got " + shape_text(shape));
  }
  const int64_t n = many ? shape[0] : 1;
  if (n < 1) {
    throw RequestError(400, "body: an .npy of 0 images");
  }
  if (n > spec.max_images) {
    throw RequestError(
        413,
        "body: " + std::to_string(n) + " images, more than the " +
            std::to_string(spec.max_images) +
            " one request may hold (--queue-limit)");
  }
  const int64_t count = n * info.channels * info.side * info.side;
  const auto bytes = static_cast<size_t>(count) * sizeof(float);
  if (body.size() - header.data_offset != bytes) {
    throw RequestError(
        400,
        "body: the .npy header says " + shape_text(shape) + " (" +
            std::to_string(bytes) + " bytes of data), but " +
            std::to_string(body.size() - header.data_offset) + " follow it");
  }
  DecodedBody out;
  out.images = torch::empty({n, info.channels, info.side, info.side});
  float* dst = out.images.data_ptr<float>();
  std::memcpy(dst, body.data() + header.data_offset, bytes);
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(dst[i])) {
      throw RequestError(
          400,
          "body: value " + std::to_string(i) + " of the .npy is not finite (" +
              std::to_string(dst[i]) + ")");
    }
    // Normalised pixels are a few units; 3e38 is finite but overflows the
    // network into NaN.
    if (std::fabs(dst[i]) > kMaxNpyValue) {
      throw RequestError(
          400,
          "body: value " + std::to_string(i) + " of the .npy is " +
              std::to_string(dst[i]) +
              ", beyond the +-1e6 normalised "
              "pixels can be");
    }
  }
  out.batched = many;
  return out;
}

} // namespace

InputSpec input_spec(const data::DatasetInfo& info, int64_t max_images) {
  check(max_images >= 1, "--queue-limit must be >= 1, got ", max_images);
  check(
      static_cast<int64_t>(info.mean.size()) == info.channels &&
          static_cast<int64_t>(info.std.size()) == info.channels,
      "data set ",
      info.name,
      ": the checkpoint records no mean and std per channel (",
      info.mean.size(),
      " and ",
      info.std.size(),
      " values for ",
      info.channels,
      " channels)");
  InputSpec spec;
  spec.info = info;
  spec.max_images = max_images;
  if (info.name == "folder") {
    spec.fit = data::ImageFit::kResizeCrop;
  } else if (info.name == "mnist" || info.name == "fashion-mnist") {
    spec.fit = data::ImageFit::kPad;
  } else {
    spec.fit = data::ImageFit::kExact;
  }
  return spec;
}

DecodedBody decode_body(
    const std::string& content_type,
    const std::string& body,
    const InputSpec& spec) {
  const std::string type = media_type(content_type);
  const bool image = type == "image/png" || type == "image/jpeg";
  if (!image && type != "application/x-npy") {
    throw RequestError(
        415,
        "Content-Type: expected image/png, image/jpeg or application/x-npy, "
        "got '" +
            content_type + "'");
  }
  if (body.empty()) {
    throw RequestError(400, "body: empty (expected " + type + " data)");
  }
  return image ? decode_image_body(type, body, spec) :
                 decode_npy_body(body, spec);
}

} // namespace sdn::serve
