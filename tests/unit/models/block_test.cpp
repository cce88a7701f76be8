// Blocks' shared parts: options, conv + BN pairs (names, forward, folding,
// traced cost) and fold_conv_bn.
#include "sdn/models/block.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace sdn::models {
namespace {

TEST(BlockOptions, ProjectionAndValidation) {
  EXPECT_FALSE(BlockOptions(16, 16).projects());
  EXPECT_TRUE(BlockOptions(16, 16).stride(2).projects());
  EXPECT_TRUE(BlockOptions(16, 32).projects());
  EXPECT_NO_THROW(BlockOptions(3, 8).dropout(0.3).validate());
  EXPECT_THROW(BlockOptions(0, 8).validate(), Error);
  EXPECT_THROW(BlockOptions(3, 8).stride(0).validate(), Error);
  EXPECT_THROW(BlockOptions(3, 8).dropout(1).validate(), Error);
}

// A module owning one conv + BN pair, as a block does.
struct Owner : torch::nn::Module {
  explicit Owner(bool with_bn) {
    unit = ConvBn(
        *this,
        "conv",
        with_bn ? "bn" : "",
        torch::nn::Conv2dOptions(3, 4, 3).stride(2).padding(1).bias(false));
  }
  ConvBn unit;
};

TEST(ConvBn, RegistersUnderItsNamesAndRunsBnAfterConv) {
  torch::manual_seed(0);
  Owner owner(/*with_bn=*/true);
  ASSERT_TRUE(owner.unit.defined());
  EXPECT_FALSE(ConvBn().defined());
  const auto names = owner.named_parameters().keys();
  EXPECT_EQ(
      names, (std::vector<std::string>{"conv.weight", "bn.weight", "bn.bias"}));
  const auto x = torch::randn({2, 3, 8, 8});
  auto* conv = owner.named_children()["conv"]->as<torch::nn::Conv2d>();
  auto* bn = owner.named_children()["bn"]->as<torch::nn::BatchNorm2d>();
  ASSERT_NE(conv, nullptr);
  ASSERT_NE(bn, nullptr);
  owner.eval();
  const auto y = owner.unit(x);
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({2, 4, 4, 4}));
  EXPECT_TRUE(torch::equal(y, bn->forward(conv->forward(x))));
}

TEST(ConvBn, FoldReplacesTheConvAndKeepsTheEvalOutput) {
  torch::manual_seed(1);
  Owner owner(/*with_bn=*/true);
  auto* bn = owner.named_children()["bn"]->as<torch::nn::BatchNorm2d>();
  {
    torch::NoGradGuard no_grad;
    bn->running_mean.uniform_(-0.5, 0.5);
    bn->running_var.uniform_(0.5, 1.5);
    bn->weight.uniform_(0.5, 1.5);
    bn->bias.uniform_(-0.5, 0.5);
  }
  owner.eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 8, 8});
  const auto before = owner.unit(x);
  owner.unit.fold();
  owner.unit.fold(); // once only
  auto* conv = owner.named_children()["conv"]->as<torch::nn::Conv2d>();
  ASSERT_NE(conv, nullptr);
  EXPECT_TRUE(conv->bias.defined());
  const auto after = owner.unit(x);
  EXPECT_TRUE(torch::allclose(before, after, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(after, conv->forward(x)));
}

TEST(ConvBn, WithoutBnIsTheConvAloneAndFoldDoesNothing) {
  Owner owner(/*with_bn=*/false);
  EXPECT_EQ(owner.named_parameters().size(), 1u);
  const auto x = torch::randn({1, 3, 8, 8});
  const auto before = owner.unit(x);
  owner.unit.fold();
  EXPECT_TRUE(torch::equal(before, owner.unit(x)));
}

TEST(ConvBn, TraceCountsTheConvAndTheBn) {
  Owner owner(/*with_bn=*/true);
  CostTrace trace(3, 8);
  owner.unit.trace(trace);
  EXPECT_EQ(trace.shape(), (std::vector<int64_t>{4, 4, 4}));
  CostCounter expected;
  expected.conv(3, 4, 8, 3, 2, 1, /*bias=*/false);
  expected.batch_norm(4, 4);
  const Cost got = trace.take();
  EXPECT_DOUBLE_EQ(got.ops, expected.total().ops);
  EXPECT_DOUBLE_EQ(got.macs, expected.total().macs);
  EXPECT_EQ(got.params, expected.total().params);
  EXPECT_EQ(got.params, 3 * 4 * 9 + 2 * 4);
}

TEST(FoldConvBn, RefusesABnWithoutStatistics) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(2, 2, 1));
  torch::nn::BatchNorm2d bn(
      torch::nn::BatchNorm2dOptions(2).track_running_stats(false));
  EXPECT_THROW(fold_conv_bn(conv, bn), Error);
}

} // namespace
} // namespace sdn::models
