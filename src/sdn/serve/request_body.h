#pragma once

// The bodies POST /v1/classify accepts (docs/serving.md#the-http-api): one
// PNG or JPEG image, decoded and normalised exactly as the checkpoint's data
// set makes its images into tensors, or a float32 .npy of images already
// normalised.

#include "sdn/data/dataset.h"
#include "sdn/data/image_decode.h"
#include "sdn/util/error.h"

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace sdn::serve {

/// A request the server refuses: an sdn::Error with the HTTP status to
/// answer (400 malformed, 413 too large, 415 unsupported media type).
class RequestError : public Error {
 public:
  RequestError(int status, const std::string& message)
      : Error(message), status_(status) {}
  /// The HTTP status code.
  int status() const {
    return status_;
  }

 private:
  int status_;
};

/// The most pixels of a posted PNG or JPEG: 16 megapixels (4096 x 4096,
/// above a 12-megapixel photo). The network takes 32 x 32 or 64 x 64; a
/// larger image costs decoding time and memory (a 187 KB PNG can declare
/// 64 megapixels, 380 MB to decode), refused from its header.
constexpr int64_t kMaxBodyImagePixels = int64_t{1} << 24;

/// The largest magnitude of an .npy value: normalised pixels are a few
/// units; larger finite values overflow the network into NaN.
constexpr float kMaxNpyValue = 1e6f;

/// What a request's images must be: the network's input.
struct InputSpec {
  /// The checkpoint's data set: channels, side, mean and std.
  data::DatasetInfo info;
  /// How a posted PNG or JPEG becomes side x side: as the data set's own
  /// images do (input_spec).
  data::ImageFit fit = data::ImageFit::kExact;
  int64_t max_images = 1; ///< Most images in one .npy request, >= 1.
};

/// The spec for data set `info` (as data::dataset_info gives it for the
/// checkpoint's recorded data options): image folders resize and crop
/// (ImageFit::kResizeCrop, as their files are read); MNIST and
/// Fashion-MNIST centre images of 16x16 to 32x32 on zeros (ImageFit::kPad:
/// their 28x28 images as the data set pads them; 32x32 as they are); every
/// other data set (CIFAR-10/100, Tiny ImageNet, synthetic) takes images of
/// exactly side x side. Throws sdn::Error when `info` lacks a mean and std
/// per channel, or `max_images` < 1.
InputSpec input_spec(const data::DatasetInfo& info, int64_t max_images);

/// A decoded body.
struct DecodedBody {
  /// float32 [N, C, side, side], contiguous, normalised: the network's
  /// input.
  torch::Tensor images;
  /// True for an .npy of shape [N, C, H, W] (answered with a list, even
  /// for N = 1); false for one image (a PNG, a JPEG, or an .npy [C, H, W]).
  bool batched = false;
};

/// Decodes a request body by its Content-Type (parameters after ';' and
/// case ignored): "image/png" or "image/jpeg" (one image, checked by its
/// signature, decoded by data::decode_image with spec.fit and
/// spec.info.channels, then normalised with the data set's mean and std as
/// data::normalize does), or "application/x-npy" (a version 1-3 .npy of
/// little-endian float32, '<f4', C order, shape [C, H, W] or [N, C, H, W]
/// with C, H, W the network's and 1 <= N <= spec.max_images, every value
/// finite and within +-kMaxNpyValue, already normalised). Throws
/// RequestError: 415 for another content type; 413 for more than
/// spec.max_images images; 400 for an empty body, a body that does not
/// decode (an image over kMaxBodyImagePixels among them), a wrong dtype,
/// order or shape, a size that does not match the header, or a value out
/// of range; each message names what was expected and what was found.
DecodedBody decode_body(
    const std::string& content_type,
    const std::string& body,
    const InputSpec& spec);

} // namespace sdn::serve
