#include "sdn/network/memory_format.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using sdn::network::maybe_channels_last;
using sdn::network::to_channels_last;

namespace {

// Dense channels-last that LibTorch also *suggests* as channels-last (what
// makes the convolutions pick their NHWC kernels).
bool real_channels_last(const torch::Tensor& t) {
  return t.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
      t.suggest_memory_format() == torch::MemoryFormat::ChannelsLast;
}

} // namespace

TEST(MemoryFormat, OneChannelTensorsGetRealChannelsLastStrides) {
  const auto x = torch::randn({4, 1, 8, 8});
  // contiguous(ChannelsLast) leaves a one-channel tensor as it is.
  EXPECT_FALSE(
      real_channels_last(x.contiguous(torch::MemoryFormat::ChannelsLast)));
  const auto y = maybe_channels_last(x, true);
  EXPECT_TRUE(real_channels_last(y));
  EXPECT_TRUE(torch::equal(y, x));
  const auto rgb = torch::randn({2, 3, 5, 5});
  EXPECT_TRUE(real_channels_last(maybe_channels_last(rgb, true)));
}

TEST(MemoryFormat, OnlyFourDimensionalTensorsWhenAsked) {
  const auto x = torch::randn({2, 3, 4, 4});
  EXPECT_TRUE(maybe_channels_last(x, false).is_same(x));
  const auto flat = torch::randn({2, 3});
  EXPECT_TRUE(maybe_channels_last(flat, true).is_same(flat));
  // A strided view is copied into dense storage, never passed through.
  const auto view = torch::randn({2, 8, 4, 4})
                        .contiguous(torch::MemoryFormat::ChannelsLast)
                        .slice(/*dim=*/1, 0, 8, 2);
  const auto dense = maybe_channels_last(view, true);
  EXPECT_TRUE(real_channels_last(dense));
  EXPECT_TRUE(torch::equal(dense, view));
}

TEST(MemoryFormat, ModuleWeightsConvertInPlaceAndComputeTheSame) {
  torch::manual_seed(0);
  torch::nn::Sequential net(
      torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)),
      torch::nn::BatchNorm2d(4),
      torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 2, 3)));
  net->eval();
  const auto x = torch::randn({3, 1, 9, 9});
  const auto before = net->forward(x);
  to_channels_last(*net);
  for (const auto& p : net->parameters()) {
    if (p.dim() == 4) {
      EXPECT_TRUE(real_channels_last(p)) << p.sizes();
    }
  }
  const auto after = net->forward(maybe_channels_last(x, true));
  EXPECT_TRUE(torch::allclose(before, after, 1e-5, 1e-6));
}
