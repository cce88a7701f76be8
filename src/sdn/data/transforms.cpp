// Augmentation kernels on raw CHW buffers: flip and crop in uint8 (exact),
// colour jitter and normalisation in float.
#include "sdn/data/transforms.h"

#include "sdn/data/rng.h"
#include "sdn/util/error.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace sdn::data {

namespace {

// ITU-R 601-2 luma weights, as torchvision's rgb_to_grayscale.
constexpr float kLumaR = 0.2989f;
constexpr float kLumaG = 0.587f;
constexpr float kLumaB = 0.114f;
// 1/255: uint8 pixels to [0, 1].
constexpr float kToUnit = 1.f / 255.f;

void blend_with_constant(float* v, int64_t n, float factor, float other) {
  const float rest = (1.f - factor) * other;
  for (int64_t i = 0; i < n; ++i) {
    v[i] = std::clamp(factor * v[i] + rest, 0.f, 1.f);
  }
}

void adjust_contrast(float* image, int64_t channels, int64_t plane, float f) {
  double sum = 0;
  if (channels == 3) {
    for (int64_t i = 0; i < plane; ++i) {
      sum += kLumaR * image[i] + kLumaG * image[plane + i] +
          kLumaB * image[2 * plane + i];
    }
  } else {
    for (int64_t i = 0; i < plane; ++i) {
      sum += image[i];
    }
  }
  const auto mean = static_cast<float>(sum / static_cast<double>(plane));
  blend_with_constant(image, channels * plane, f, mean);
}

void adjust_saturation(float* image, int64_t channels, int64_t plane, float f) {
  if (channels != 3) {
    return; // greyscale is its own greyscale
  }
  float* r = image;
  float* g = image + plane;
  float* b = image + 2 * plane;
  for (int64_t i = 0; i < plane; ++i) {
    const float grey = kLumaR * r[i] + kLumaG * g[i] + kLumaB * b[i];
    const float rest = (1.f - f) * grey;
    r[i] = std::clamp(f * r[i] + rest, 0.f, 1.f);
    g[i] = std::clamp(f * g[i] + rest, 0.f, 1.f);
    b[i] = std::clamp(f * b[i] + rest, 0.f, 1.f);
  }
}

} // namespace

AugmentDraw draw_augment(
    const DatasetInfo& info,
    uint64_t seed,
    int64_t epoch,
    int64_t index) {
  AugmentDraw draw;
  draw.crop_x = draw.crop_y = info.crop_padding;
  if (info.augment == Augment::kNone) {
    return draw;
  }
  Rng rng(derive_seed(
      seed,
      Stream::kAugment,
      static_cast<uint64_t>(epoch),
      static_cast<uint64_t>(index)));
  draw.flip = rng.uniform() < 0.5;
  draw.crop_y = rng.below(2 * info.crop_padding + 1);
  draw.crop_x = rng.below(2 * info.crop_padding + 1);
  if (info.augment == Augment::kPadCropJitter) {
    draw.jitter = true;
    const double lo = 1 - kJitterStrength, hi = 1 + kJitterStrength;
    draw.brightness = static_cast<float>(rng.uniform(lo, hi));
    draw.contrast = static_cast<float>(rng.uniform(lo, hi));
    draw.saturation = static_cast<float>(rng.uniform(lo, hi));
    for (int i = 2; i > 0; --i) {
      std::swap(
          draw.order[static_cast<size_t>(i)],
          draw.order[static_cast<size_t>(rng.below(i + 1))]);
    }
  }
  return draw;
}

void flip_crop(
    const uint8_t* src,
    uint8_t* dst,
    int64_t channels,
    int64_t side,
    int64_t padding,
    const AugmentDraw& draw) {
  // Output (y, x) reads padded (y + crop_y, x + crop_x), i.e. flipped-image
  // pixel (sy, sx) = (y + crop_y - padding, x + crop_x - padding), zero when
  // outside; the flipped image at column sx is the source at side - 1 - sx.
  const int64_t shift_y = draw.crop_y - padding;
  const int64_t shift_x = draw.crop_x - padding;
  const int64_t x_begin = std::clamp(-shift_x, int64_t{0}, side);
  const int64_t x_end = std::clamp(side - shift_x, int64_t{0}, side);
  for (int64_t c = 0; c < channels; ++c) {
    const uint8_t* in = src + c * side * side;
    uint8_t* out = dst + c * side * side;
    for (int64_t y = 0; y < side; ++y) {
      uint8_t* row = out + y * side;
      const int64_t sy = y + shift_y;
      if (sy < 0 || sy >= side) {
        std::memset(row, 0, static_cast<size_t>(side));
        continue;
      }
      const uint8_t* in_row = in + sy * side;
      std::memset(row, 0, static_cast<size_t>(x_begin));
      if (draw.flip) {
        for (int64_t x = x_begin; x < x_end; ++x) {
          row[x] = in_row[side - 1 - (x + shift_x)];
        }
      } else if (x_end > x_begin) {
        std::memcpy(
            row + x_begin,
            in_row + x_begin + shift_x,
            static_cast<size_t>(x_end - x_begin));
      }
      std::memset(row + x_end, 0, static_cast<size_t>(side - x_end));
    }
  }
}

void color_jitter(
    float* image,
    int64_t channels,
    int64_t side,
    const AugmentDraw& draw) {
  const int64_t plane = side * side;
  for (const int step : draw.order) {
    if (step == 0) {
      blend_with_constant(image, channels * plane, draw.brightness, 0.f);
    } else if (step == 1) {
      adjust_contrast(image, channels, plane, draw.contrast);
    } else {
      adjust_saturation(image, channels, plane, draw.saturation);
    }
  }
}

void transform_image(
    const uint8_t* src,
    float* dst,
    const DatasetInfo& info,
    const AugmentDraw* draw) {
  const int64_t plane = info.side * info.side;
  const int64_t n = info.channels * plane;
  const uint8_t* pixels = src;
  thread_local std::vector<uint8_t> cropped;
  if (draw != nullptr && info.augment != Augment::kNone) {
    cropped.resize(static_cast<size_t>(n));
    flip_crop(
        src,
        cropped.data(),
        info.channels,
        info.side,
        info.crop_padding,
        *draw);
    pixels = cropped.data();
  }
  if (draw != nullptr && draw->jitter) {
    for (int64_t i = 0; i < n; ++i) {
      dst[i] = pixels[i] * kToUnit;
    }
    color_jitter(dst, info.channels, info.side, *draw);
    for (int64_t c = 0; c < info.channels; ++c) {
      const float mean = info.mean[static_cast<size_t>(c)];
      const float inv_std = 1.f / info.std[static_cast<size_t>(c)];
      float* p = dst + c * plane;
      for (int64_t i = 0; i < plane; ++i) {
        p[i] = (p[i] - mean) * inv_std;
      }
    }
    return;
  }
  // Without jitter, one fused pass: (u8 / 255 - mean) / std = u8 * a + b.
  for (int64_t c = 0; c < info.channels; ++c) {
    const float inv_std = 1.f / info.std[static_cast<size_t>(c)];
    const float a = kToUnit * inv_std;
    const float b = -info.mean[static_cast<size_t>(c)] * inv_std;
    const uint8_t* in = pixels + c * plane;
    float* out = dst + c * plane;
    for (int64_t i = 0; i < plane; ++i) {
      out[i] = in[i] * a + b;
    }
  }
}

torch::Tensor augment_batch(
    const torch::Tensor& images,
    const torch::Tensor& indices,
    const DatasetInfo& info,
    uint64_t seed,
    int64_t epoch) {
  check(
      images.dim() == 4 && images.scalar_type() == torch::kUInt8 &&
          images.size(1) == info.channels && images.size(2) == info.side &&
          images.size(3) == info.side,
      "augment_batch expects uint8 [B, ",
      info.channels,
      ", ",
      info.side,
      ", ",
      info.side,
      "], got ",
      images.sizes(),
      " ",
      images.scalar_type());
  check(
      indices.dim() == 1 && indices.size(0) == images.size(0),
      "augment_batch expects one index per image, got ",
      indices.sizes());
  const auto src = images.contiguous();
  const auto idx = indices.to(torch::kInt64).contiguous();
  auto out = torch::empty(images.sizes(), torch::kFloat32);
  const int64_t per_image = info.channels * info.side * info.side;
  const auto* in = src.data_ptr<uint8_t>();
  const auto* index = idx.data_ptr<int64_t>();
  auto* dst = out.data_ptr<float>();
  for (int64_t i = 0; i < images.size(0); ++i) {
    const AugmentDraw draw = draw_augment(info, seed, epoch, index[i]);
    transform_image(in + i * per_image, dst + i * per_image, info, &draw);
  }
  return out;
}

} // namespace sdn::data
