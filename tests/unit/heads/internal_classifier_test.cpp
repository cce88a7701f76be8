// The internal classifier: reduction kernel, mixed pooling, init, cost.
#include "sdn/heads/internal_classifier.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace sdn::heads {
namespace {

int64_t numel_of(const std::vector<torch::Tensor>& tensors) {
  int64_t n = 0;
  for (const auto& t : tensors) {
    n += t.numel();
  }
  return n;
}

TEST(ReductionKernel, FloorOfSideOverFourOrNone) {
  EXPECT_EQ(reduction_kernel(32), 8);
  EXPECT_EQ(reduction_kernel(16), 4);
  EXPECT_EQ(reduction_kernel(8), 2);
  EXPECT_EQ(reduction_kernel(4), 1);
  EXPECT_EQ(reduction_kernel(2), 0);
}

TEST(InternalClassifier, MixesMaxAndAveragePoolingWithAlpha) {
  torch::manual_seed(4);
  InternalClassifier ic(InternalClassifierOptions(3, 8, 5));
  EXPECT_EQ(ic->kernel(), 2);
  EXPECT_EQ(ic->pooled_side(), 4);
  EXPECT_EQ(ic->features(), 48);
  const float alpha = ic->alpha().item<float>();
  EXPECT_GE(alpha, 0);
  EXPECT_LT(alpha, 1);
  const auto x = torch::randn({2, 3, 8, 8});
  const auto mixed = alpha * torch::max_pool2d(x, {2, 2}) +
      (1 - alpha) * torch::avg_pool2d(x, {2, 2});
  const auto expected = ic->linear()->forward(mixed.flatten(1));
  const auto out = ic->forward(x);
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, 5}));
  EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-6));
}

TEST(InternalClassifier, SmallMapsAreNotPooledAndHaveNoAlpha) {
  InternalClassifier ic(InternalClassifierOptions(512, 2, 10));
  EXPECT_EQ(ic->kernel(), 0);
  EXPECT_FALSE(ic->alpha().defined());
  EXPECT_EQ(ic->features(), 2048);
  EXPECT_EQ(ic->parameters().size(), 2u);
  const auto x = torch::randn({1, 512, 2, 2});
  EXPECT_TRUE(torch::allclose(
      ic->forward(x), ic->linear()->forward(x.flatten(1)), 1e-5, 1e-6));
}

TEST(InternalClassifier, SideFourKeepsAnIneffectiveAlpha) {
  InternalClassifier ic(InternalClassifierOptions(4, 4, 3));
  EXPECT_EQ(ic->kernel(), 1);
  ASSERT_TRUE(ic->alpha().defined());
  const auto x = torch::randn({2, 4, 4, 4});
  EXPECT_TRUE(torch::allclose(
      ic->forward(x), ic->linear()->forward(x.flatten(1)), 1e-5, 1e-6));
}

TEST(InternalClassifier, InitFollowsTheSdnClass) {
  torch::manual_seed(5);
  InternalClassifier normal(
      InternalClassifierOptions(64, 16, 10).init(models::IcInit::kNormal001));
  EXPECT_NEAR(normal->linear()->weight.std().item<float>(), 0.01, 0.001);
  EXPECT_EQ(normal->linear()->bias.abs().max().item<float>(), 0);
  InternalClassifier zero_bias(InternalClassifierOptions(64, 16, 10)
                                   .init(models::IcInit::kDefaultZeroBias));
  EXPECT_EQ(zero_bias->linear()->bias.abs().max().item<float>(), 0);
  // PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)), std = 1/sqrt(3 in).
  EXPECT_NEAR(
      zero_bias->linear()->weight.std().item<float>(),
      1 / std::sqrt(3.0 * 1024),
      0.001);
  InternalClassifier def(InternalClassifierOptions(64, 16, 10));
  EXPECT_GT(def->linear()->bias.abs().max().item<float>(), 0);
}

TEST(InternalClassifier, CostCountsPoolsAndLinear) {
  InternalClassifier ic(InternalClassifierOptions(16, 32, 10));
  const auto cost = ic->cost();
  // MaxPool (8-1)*numel(out) + AvgPool 8*numel(out) + (2*256-1)*10.
  EXPECT_DOUBLE_EQ(cost.ops, 7.0 * 256 + 8.0 * 256 + 511.0 * 10);
  EXPECT_DOUBLE_EQ(cost.macs, 2560);
  EXPECT_EQ(cost.params, 256 * 10 + 10 + 1);
  EXPECT_EQ(cost.params, numel_of(ic->parameters()));
}

TEST(InternalClassifier, BadInputAndOptionsAreNamed) {
  InternalClassifier ic(InternalClassifierOptions(8, 8, 3));
  EXPECT_THROW(ic->forward(torch::zeros({1, 4, 8, 8})), Error);
  try {
    InternalClassifier bad(InternalClassifierOptions(0, 8, 3));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("channels"), std::string::npos);
  }
}

} // namespace
} // namespace sdn::heads
