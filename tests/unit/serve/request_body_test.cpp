// Request bodies: PNGs become exactly what the data set's loader makes of
// the same pixels; .npy bodies are checked field by field; every refusal
// carries its HTTP status and names the problem.
#include "sdn/serve/request_body.h"

#include "sdn/analysis/npy.h"
#include "sdn/data/loader.h"
#include "sdn/util/png.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

using sdn::serve::decode_body;
using sdn::serve::InputSpec;
using sdn::serve::RequestError;

sdn::data::DatasetInfo info_of(const std::string& name) {
  sdn::data::DataOptions o;
  o.name = name;
  return sdn::data::dataset_info(o);
}

// The status and message decode_body throws.
std::pair<int, std::string> refusal(
    const std::string& type,
    const std::string& body,
    const InputSpec& spec) {
  try {
    decode_body(type, body, spec);
  } catch (const RequestError& e) {
    return {e.status(), e.what()};
  }
  return {0, ""};
}

// A w x h greyscale PNG whose pixel (x, y) is (7x + 3y) mod 256.
std::string grey_png(int w, int h) {
  std::vector<uint8_t> pixels;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      pixels.push_back(static_cast<uint8_t>(7 * x + 3 * y));
    }
  }
  return sdn::encode_png(pixels, w, h, 1);
}

} // namespace

TEST(InputSpec, FitsImagesAsTheDataSetDoes) {
  EXPECT_EQ(
      sdn::serve::input_spec(info_of("fashion-mnist"), 4).fit,
      sdn::data::ImageFit::kPad);
  EXPECT_EQ(
      sdn::serve::input_spec(info_of("mnist"), 4).fit,
      sdn::data::ImageFit::kPad);
  EXPECT_EQ(
      sdn::serve::input_spec(info_of("cifar10"), 4).fit,
      sdn::data::ImageFit::kExact);
  EXPECT_EQ(
      sdn::serve::input_spec(info_of("synthetic"), 4).fit,
      sdn::data::ImageFit::kExact);
  auto folder = info_of("synthetic");
  folder.name = "folder";
  EXPECT_EQ(
      sdn::serve::input_spec(folder, 4).fit, sdn::data::ImageFit::kResizeCrop);
  folder.mean.clear();
  EXPECT_THROW(sdn::serve::input_spec(folder, 4), sdn::Error);
  EXPECT_THROW(sdn::serve::input_spec(info_of("cifar10"), 0), sdn::Error);
}

// A 28x28 Fashion-MNIST PNG is padded to 32x32 and normalised as the data
// set's loader does it (data::normalize of the padded pixels).
TEST(DecodeBody, PngIsPaddedAndNormalisedAsTheDataSet) {
  const auto spec = sdn::serve::input_spec(info_of("fashion-mnist"), 4);
  const auto body = decode_body("image/png", grey_png(28, 28), spec);
  EXPECT_FALSE(body.batched);
  ASSERT_EQ(body.images.sizes(), (std::vector<int64_t>{1, 1, 32, 32}));
  auto pixels = torch::zeros({1, 1, 32, 32}, torch::kUInt8);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      pixels[0][0][y + 2][x + 2] = (7 * x + 3 * y) % 256;
    }
  }
  const auto want = sdn::data::normalize(pixels, spec.info);
  EXPECT_TRUE(torch::equal(body.images, want));
  // Parameters and case in the media type are ignored.
  EXPECT_TRUE(torch::equal(
      decode_body("Image/PNG; q=1", grey_png(28, 28), spec).images, want));
}

TEST(DecodeBody, RefusesImagesTheDataSetCannotTake) {
  const auto spec = sdn::serve::input_spec(info_of("cifar10"), 4);
  auto [status, what] = refusal("image/png", grey_png(28, 28), spec);
  EXPECT_EQ(status, 400);
  EXPECT_NE(what.find("28x28, expected 32x32"), std::string::npos) << what;
  std::tie(status, what) = refusal("image/jpeg", grey_png(32, 32), spec);
  EXPECT_EQ(status, 400);
  EXPECT_NE(what.find("not a JPEG"), std::string::npos) << what;
  std::tie(status, what) =
      refusal("image/png", grey_png(32, 32).substr(0, 60), spec);
  EXPECT_EQ(status, 400);
  EXPECT_NE(what.find("PNG"), std::string::npos) << what;
  std::tie(status, what) = refusal("image/gif", "GIF89a", spec);
  EXPECT_EQ(status, 415);
  EXPECT_NE(what.find("image/gif"), std::string::npos) << what;
  std::tie(status, what) = refusal("", "x", spec);
  EXPECT_EQ(status, 415);
  std::tie(status, what) = refusal("image/png", "", spec);
  EXPECT_EQ(status, 400);
  EXPECT_NE(what.find("empty"), std::string::npos) << what;
}

TEST(DecodeBody, NpyOfOneOrManyImages) {
  const auto spec = sdn::serve::input_spec(info_of("synthetic"), 3);
  const int64_t per = 3 * 32 * 32;
  std::vector<float> values(static_cast<size_t>(2 * per));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>(i % 97) / 10.f - 3.f;
  }
  const auto many = decode_body(
      "application/x-npy",
      sdn::analysis::encode_npy(values, {2, 3, 32, 32}),
      spec);
  EXPECT_TRUE(many.batched);
  ASSERT_EQ(many.images.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_EQ(
      many.images.flatten()[per + 5].item<float>(),
      values[static_cast<size_t>(per + 5)]);
  std::vector<float> first(values.begin(), values.begin() + per);
  const auto one = decode_body(
      "application/x-npy", sdn::analysis::encode_npy(first, {3, 32, 32}), spec);
  EXPECT_FALSE(one.batched);
  EXPECT_TRUE(torch::equal(one.images[0], many.images[0]));
}

TEST(DecodeBody, RefusesBadNpy) {
  const auto spec = sdn::serve::input_spec(info_of("synthetic"), 3);
  const std::string type = "application/x-npy";
  auto zeros = [](int64_t n) {
    return std::vector<float>(static_cast<size_t>(n), 0.f);
  };
  // Wrong shape: names both.
  auto [status, what] = refusal(
      type, sdn::analysis::encode_npy(zeros(1 * 32 * 32), {1, 32, 32}), spec);
  EXPECT_EQ(status, 400);
  EXPECT_NE(what.find("[3, 32, 32]"), std::string::npos) << what;
  EXPECT_NE(what.find("got [1, 32, 32]"), std::string::npos) << what;
  // More images than one request may hold: 413.
  std::tie(status, what) = refusal(
      type,
      sdn::analysis::encode_npy(zeros(4 * 3 * 32 * 32), {4, 3, 32, 32}),
      spec);
  EXPECT_EQ(status, 413);
  EXPECT_NE(what.find("4 images"), std::string::npos) << what;
  // A header that claims more data than follows (no allocation for it).
  std::string cut =
      sdn::analysis::encode_npy(zeros(2 * 3 * 32 * 32), {2, 3, 32, 32});
  cut.resize(cut.size() - 4);
  std::tie(status, what) = refusal(type, cut, spec);
  EXPECT_EQ(status, 400);
  // int64 instead of float32.
  std::tie(status, what) = refusal(
      type,
      sdn::analysis::encode_npy(
          std::vector<int64_t>(3 * 32 * 32, 0), {3, 32, 32}),
      spec);
  EXPECT_EQ(status, 400);
  EXPECT_NE(what.find("'<i8'"), std::string::npos) << what;
  // Not finite.
  auto bad = zeros(3 * 32 * 32);
  bad[17] = std::numeric_limits<float>::quiet_NaN();
  std::tie(status, what) =
      refusal(type, sdn::analysis::encode_npy(bad, {3, 32, 32}), spec);
  EXPECT_EQ(status, 400);
  EXPECT_NE(what.find("value 17"), std::string::npos) << what;
  // Not an .npy at all.
  std::tie(status, what) = refusal(type, "hello", spec);
  EXPECT_EQ(status, 400);
  // Zero images.
  std::tie(status, what) =
      refusal(type, sdn::analysis::encode_npy(zeros(0), {0, 3, 32, 32}), spec);
  EXPECT_EQ(status, 400);
}
