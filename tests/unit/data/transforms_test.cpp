#include "sdn/data/transforms.h"

#include "test_files.h"

#include <gtest/gtest.h>

using namespace sdn::data;

namespace {

// A 1-channel 4x4 image with pixel (y, x) = 10 * y + x + 1.
std::vector<uint8_t> ramp() {
  std::vector<uint8_t> v(16);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      v[y * 4 + x] = static_cast<uint8_t>(10 * y + x + 1);
    }
  }
  return v;
}

DatasetInfo info_of(const std::string& name) {
  DataOptions options;
  options.name = name;
  return dataset_info(options);
}

} // namespace

TEST(Transforms, FlipAndCropAreExact) {
  const auto src = ramp();
  std::vector<uint8_t> out(16);
  AugmentDraw draw;
  draw.crop_x = draw.crop_y = 2; // padding 2: no shift
  flip_crop(src.data(), out.data(), 1, 4, 2, draw);
  EXPECT_EQ(out, src);
  draw.flip = true;
  flip_crop(src.data(), out.data(), 1, 4, 2, draw);
  EXPECT_EQ(out[0], 4);
  EXPECT_EQ(out[3], 1);
  EXPECT_EQ(out[15], 31);
  // Crop origin (x=3, y=0) in the padded image: shift right by 1, down by -2
  // i.e. output (y, x) = flipped (y - 2, x + 1); rows 0-1 are padding.
  draw.flip = false;
  draw.crop_x = 3;
  draw.crop_y = 0;
  flip_crop(src.data(), out.data(), 1, 4, 2, draw);
  const std::vector<uint8_t> expected = {
      0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 4, 0, 12, 13, 14, 0};
  EXPECT_EQ(out, expected);
  draw.flip = true;
  flip_crop(src.data(), out.data(), 1, 4, 2, draw);
  const std::vector<uint8_t> flipped = {
      0, 0, 0, 0, 0, 0, 0, 0, 3, 2, 1, 0, 13, 12, 11, 0};
  EXPECT_EQ(out, flipped);
  // Crop fully in padding.
  draw.crop_x = 4;
  draw.crop_y = 4;
  draw.flip = false;
  flip_crop(src.data(), out.data(), 1, 4, 2, draw);
  EXPECT_EQ(out[0], 23); // src (2, 2)
  EXPECT_EQ(out[5], 34); // src (3, 3)
  EXPECT_EQ(out[2], 0); // src (2, 4): padding
  EXPECT_EQ(out[8], 0); // src (4, 2): padding
}

TEST(Transforms, DrawsAreDeterministicAndInRange) {
  const DatasetInfo tiny = info_of("tiny-imagenet");
  int flips = 0;
  float lo = 2, hi = 0;
  int64_t max_crop = 0;
  for (int64_t i = 0; i < 2000; ++i) {
    const AugmentDraw d = draw_augment(tiny, 5, 3, i);
    const AugmentDraw again = draw_augment(tiny, 5, 3, i);
    EXPECT_EQ(d.flip, again.flip);
    EXPECT_EQ(d.crop_x, again.crop_x);
    EXPECT_EQ(d.brightness, again.brightness);
    EXPECT_EQ(d.order, again.order);
    flips += d.flip;
    ASSERT_TRUE(d.jitter);
    for (float f : {d.brightness, d.contrast, d.saturation}) {
      lo = std::min(lo, f);
      hi = std::max(hi, f);
    }
    auto order = d.order;
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, (std::array<int, 3>{0, 1, 2}));
    EXPECT_GE(d.crop_x, 0);
    EXPECT_LE(d.crop_x, 16);
    max_crop = std::max({max_crop, d.crop_x, d.crop_y});
  }
  EXPECT_GE(lo, 0.8f);
  EXPECT_LT(hi, 1.2f);
  EXPECT_LT(lo, 0.81f);
  EXPECT_GT(hi, 1.19f);
  EXPECT_EQ(max_crop, 16);
  EXPECT_NEAR(flips, 1000, 120);
  // Other epoch, other seed: other draws.
  int differ = 0;
  for (int64_t i = 0; i < 100; ++i) {
    differ += draw_augment(tiny, 5, 4, i).brightness !=
        draw_augment(tiny, 5, 3, i).brightness;
  }
  EXPECT_GT(differ, 95);
  // CIFAR: no jitter; synthetic: identity.
  EXPECT_FALSE(draw_augment(info_of("cifar10"), 1, 0, 0).jitter);
  DataOptions synthetic;
  synthetic.name = "synthetic";
  const AugmentDraw none = draw_augment(dataset_info(synthetic), 1, 0, 0);
  EXPECT_FALSE(none.flip);
  EXPECT_EQ(none.crop_x, 0);
}

TEST(Transforms, ColorJitterFollowsTorchvision) {
  AugmentDraw d;
  d.brightness = 1.2f;
  // Brightness scales and clamps: a 1x1 RGB image.
  std::vector<float> px = {0.5f, 0.25f, 1.0f};
  color_jitter(px.data(), 3, 1, d);
  EXPECT_FLOAT_EQ(px[0], 0.6f);
  EXPECT_FLOAT_EQ(px[1], 0.3f);
  EXPECT_FLOAT_EQ(px[2], 1.0f); // clamped
  // Saturation 0.8 blends with the pixel's grey.
  px = {0.5f, 0.25f, 1.0f};
  d.brightness = 1.f;
  d.saturation = 0.8f;
  const float grey = 0.2989f * 0.5f + 0.587f * 0.25f + 0.114f * 1.0f;
  color_jitter(px.data(), 3, 1, d);
  EXPECT_NEAR(px[0], 0.8f * 0.5f + 0.2f * grey, 1e-6);
  EXPECT_NEAR(px[1], 0.8f * 0.25f + 0.2f * grey, 1e-6);
  // Contrast 1.2 on a 2-pixel greyscale (1 channel) image: mean 0.5.
  std::vector<float> g = {0.3f, 0.7f, 0.3f, 0.7f};
  d.saturation = 1.f;
  d.contrast = 1.2f;
  color_jitter(g.data(), 1, 2, d);
  EXPECT_NEAR(g[0], 0.26f, 1e-6);
  EXPECT_NEAR(g[1], 0.74f, 1e-6);
  // Order matters: brightness 1.2 then contrast 0.8 vs the reverse, when
  // brightness clamps.
  std::vector<float> p1 = {0.9f, 0.1f, 0.9f, 0.1f};
  auto p2 = p1;
  d.brightness = 1.2f;
  d.contrast = 0.8f;
  d.order = {0, 1, 2};
  color_jitter(p1.data(), 1, 2, d);
  d.order = {1, 0, 2};
  color_jitter(p2.data(), 1, 2, d);
  EXPECT_NE(p1[0], p2[0]);
}

TEST(Transforms, NormaliseAndBatchIndependence) {
  const DatasetInfo info = info_of("cifar10");
  auto images = torch::randint(0, 256, {6, 3, 32, 32}, torch::kUInt8);
  const auto indices = torch::arange(10, 16, torch::kInt64);
  const auto whole = augment_batch(images, indices, info, 9, 2);
  // Sample 13 augmented alone equals its row in the batch.
  const auto alone =
      augment_batch(images.slice(0, 3, 4), indices.slice(0, 3, 4), info, 9, 2);
  EXPECT_TRUE(torch::equal(whole[3], alone[0]));
  // Un-normalised, every value is a pixel of the image or the zero padding.
  const auto mean = torch::tensor(info.mean).view({3, 1, 1});
  const auto std = torch::tensor(info.std).view({3, 1, 1});
  const auto pixels = ((whole[0] * std + mean) * 255).round();
  EXPECT_LE(
      (pixels - ((whole[0] * std + mean) * 255)).abs().max().item<float>(),
      1e-3);
  // Without augmentation: exactly (x / 255 - mean) / std.
  DatasetInfo plain = info;
  plain.augment = Augment::kNone;
  const auto normalised = augment_batch(images, indices, plain, 9, 2);
  const auto expected = (images.to(torch::kFloat32) / 255 - mean) / std;
  EXPECT_TRUE(torch::allclose(normalised, expected, 1e-5, 1e-5));
  EXPECT_SDN_ERROR(
      augment_batch(images.slice(1, 0, 1), indices, info, 0, 0), "uint8 [B, 3");
}
