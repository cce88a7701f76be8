#pragma once

// JPEG and PNG images to network inputs: decoded with libjpeg-turbo and
// libpng, converted to 1 or 3 channels, resized with stb_image_resize
// (docs/data.md#image-folders). Shared by image folders and Tiny ImageNet.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::data {

/// How decode_image brings an image to side x side.
enum class ImageFit {
  /// The image must already be side x side (Tiny ImageNet's 64x64 JPEGs);
  /// any other size is an error.
  kExact,
  /// The shorter side is scaled to `side` keeping the aspect ratio and the
  /// centre side x side is kept: torchvision's Resize(side) followed by
  /// CenterCrop(side). The centre square of the image is resampled with
  /// stb_image_resize's default filters (Mitchell when shrinking,
  /// Catmull-Rom when enlarging) on the stored values, without gamma
  /// conversion, as PIL resizes.
  kResizeCrop,
  /// At most side x side and at least half of it each way, centred on a
  /// zero (black) side x side canvas, top-left offset ((side - h) / 2,
  /// (side - w) / 2) rounded down: how MNIST's and Fashion-MNIST's 28x28
  /// images become 32x32 (read_idx_images); a side x side image stays as
  /// it is.
  kPad,
};

/// The most pixels (width x height) of an image decode_image accepts:
/// 64 megapixels (8192 x 8192). Larger images are refused before any pixel
/// memory is allocated.
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

/// The largest image file read_image_file reads: 256 MiB, more than any
/// JPEG or compressed PNG of kMaxImagePixels takes. Larger files are
/// refused from their size, before a byte is read.
constexpr int64_t kMaxImageFileBytes = int64_t{256} << 20;

/// Reads an image file whole, after two checks that need no more than its
/// first bytes: its size (at most kMaxImageFileBytes) and a JPEG or PNG
/// signature at its start. So a stray multi-gigabyte file named .png costs
/// nothing. Throws sdn::Error naming `path` ("PATH: 3221225472 bytes, more
/// than the 268435456 an image file may have", "PATH: not a JPEG or PNG
/// image (...)", read_file's errors for a missing, unreadable or
/// non-regular file).
std::string read_image_file(const std::string& path);

/// True when `bytes` begin with the JPEG signature (FF D8 FF).
bool is_jpeg(const std::string& bytes);
/// True when `bytes` begin with the 8-byte PNG signature.
bool is_png(const std::string& bytes);

/// Decodes a JPEG or PNG (told apart by their signatures, not by a file
/// name) into `out`: uint8 CHW pixels, `channels` x side x side bytes.
/// Colour handling follows what torchvision's ImageFolder gives with PIL's
/// convert("RGB") / convert("L"): a palette is expanded, alpha (also a
/// palette's transparency) is dropped without compositing, 16-bit samples
/// keep their high byte, 1/2/4-bit greyscale is scaled to 0..255; greyscale
/// becomes RGB by repeating it, and RGB becomes greyscale by ITU-R 601 luma
/// (L = (19595 R + 38470 G + 7471 B + 32768) >> 16, PIL's formula).
/// `channels` is 1 or 3, `side` > 0. Throws sdn::Error prefixed by
/// `source` (the file's path) for bytes that are neither JPEG nor PNG, a
/// truncated or corrupt image, a CMYK JPEG, an image over `max_pixels`
/// (at most kMaxImagePixels; a server takes fewer), (kExact) an image that
/// is not side x side, or (kPad) one larger than side x side or smaller
/// than half of it.
void decode_image(
    const std::string& bytes,
    const std::string& source,
    int64_t channels,
    int64_t side,
    ImageFit fit,
    uint8_t* out,
    int64_t max_pixels = kMaxImagePixels);

/// Decodes JPEG bytes to RGB CHW pixels into `out` (3 * side * side
/// bytes), which must already be side x side: decode_image with 3 channels
/// and ImageFit::kExact (Tiny ImageNet). Throws as decode_image does.
void decode_jpeg_rgb(
    const std::string& bytes,
    const std::string& path,
    int64_t side,
    uint8_t* out);

/// Reads and decodes the image files `paths` with decode_image, on every
/// core (hardware_threads), into uint8 [N, channels, side, side] in the
/// order of `paths`, each read with read_image_file. `show_progress` draws
/// a progress bar labelled `label` on stderr. Throws the sdn::Error of the
/// first file (in list order among those that failed) that is missing or
/// does not decode; running out of memory on a file is such an error too
/// ("PATH: out of memory decoding it").
torch::Tensor decode_image_files(
    const std::vector<std::string>& paths,
    int64_t channels,
    int64_t side,
    ImageFit fit,
    const std::string& label,
    bool show_progress);

} // namespace sdn::data
