#pragma once

// Training-time augmentation and normalisation (docs/data.md), per sample
// and deterministic: every random choice derives from (seed, epoch, index).

#include "sdn/data/dataset.h"

#include <array>
#include <cstdint>

namespace sdn::data {

/// ColorJitter(brightness, contrast, saturation) strength for kPadCropJitter:
/// factors are uniform in [1 - kJitterStrength, 1 + kJitterStrength].
constexpr double kJitterStrength = 0.2;

/// The random choices of one sample's augmentation.
struct AugmentDraw {
  bool flip = false; ///< Horizontal flip (p = 0.5).
  /// Crop origin (column, row) in the zero-padded image, each in
  /// [0, 2 * crop_padding]; crop_padding itself means no shift.
  int64_t crop_x = 0;
  int64_t crop_y = 0; ///< See crop_x.
  bool jitter = false; ///< Apply the colour jitter below.
  float brightness = 1.f; ///< Jitter factor in [0.8, 1.2]: scales pixels.
  float contrast = 1.f; ///< Jitter factor: blend with the grey mean.
  float saturation = 1.f; ///< Jitter factor: blend with the grey image.
  /// Order of the jitter steps: 0 brightness, 1 contrast, 2 saturation.
  std::array<int, 3> order = {0, 1, 2};
};

/// The augmentation of sample `index` in `epoch` under `seed` for
/// info.augment (kNone: the identity draw). Depends on nothing else, so it is
/// independent of batch size, shard and thread.
AugmentDraw draw_augment(
    const DatasetInfo& info,
    uint64_t seed,
    int64_t epoch,
    int64_t index);

/// Flips (when draw.flip) then crops side x side at (crop_x, crop_y) from the
/// image zero-padded by `padding`: uint8 CHW `src` to uint8 CHW `dst`.
void flip_crop(
    const uint8_t* src,
    uint8_t* dst,
    int64_t channels,
    int64_t side,
    int64_t padding,
    const AugmentDraw& draw);

/// Applies draw's brightness, contrast and saturation in draw.order, in place
/// on float CHW pixels in [0, 1], with torchvision's semantics: brightness
/// scales; contrast blends with the mean of the greyscale image; saturation
/// blends with the greyscale image (a no-op on one channel); each step clamps
/// to [0, 1]. Greyscale = 0.2989 R + 0.587 G + 0.114 B.
void color_jitter(
    float* image,
    int64_t channels,
    int64_t side,
    const AugmentDraw& draw);

/// One sample through the pipeline: flip and crop on raw pixels (when `draw`
/// is not null), to float [0, 1], colour jitter (when draw->jitter), then
/// normalise with info.mean / info.std. uint8 CHW `src` to float CHW `dst`.
void transform_image(
    const uint8_t* src,
    float* dst,
    const DatasetInfo& info,
    const AugmentDraw* draw);

/// Augments and normalises a batch: uint8 [B, C, H, W] images whose data-set
/// positions are `indices` (int64 [B]) to float32 [B, C, H, W].
torch::Tensor augment_batch(
    const torch::Tensor& images,
    const torch::Tensor& indices,
    const DatasetInfo& info,
    uint64_t seed,
    int64_t epoch);

} // namespace sdn::data
