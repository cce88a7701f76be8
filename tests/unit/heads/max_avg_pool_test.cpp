// The fused max + average pooling of the internal classifiers against ATen's
// two pools: values, argmax ties, NaN, floor mode, gradients, both layouts.
#include "sdn/heads/max_avg_pool.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>

namespace sdn::heads {
namespace {

struct Case {
  int64_t n, c, side, k;
  bool channels_last;
  bool ties;
};

std::string name_of(const Case& c) {
  return std::to_string(c.n) + "x" + std::to_string(c.c) + "x" +
      std::to_string(c.side) + " k" + std::to_string(c.k) +
      (c.channels_last ? " channels-last" : " NCHW") + (c.ties ? " ties" : "");
}

torch::Tensor input_for(const Case& c) {
  auto x = torch::randn({c.n, c.c, c.side, c.side});
  if (c.ties) {
    // Few distinct values: many windows hold their maximum more than once,
    // so the first-maximum rule decides where the gradient goes.
    x = x.mul(2).round().clamp(-2, 2);
  }
  return c.channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) :
                           x.contiguous();
}

const Case kCases[] = {
    {3, 5, 16, 4, false, false},
    {3, 5, 16, 4, true, false},
    {2, 16, 32, 8, true, false},
    {2, 16, 32, 8, false, true},
    {2, 16, 32, 8, true, true},
    {4, 7, 8, 2, true, true},
    {2, 3, 14, 3, false, false}, // floor mode: rows/cols 12, 13 unpooled
    {2, 3, 14, 3, true, true},
    {1, 1, 64, 16, false, false}, // C == 1: both layouts at once
};

TEST(MaxAvgPool, EqualsAtenPoolsForwardAndBackward) {
  torch::manual_seed(11);
  for (const auto& c : kCases) {
    SCOPED_TRACE(name_of(c));
    const auto x0 = input_for(c);
    ASSERT_TRUE(max_avg_pool_is_fused(x0, c.k));

    auto x = x0.clone().requires_grad_();
    auto [mx, av] = max_avg_pool(x, c.k);
    auto xr = x0.clone().requires_grad_();
    const auto mr = torch::max_pool2d(xr, {c.k, c.k}, {c.k, c.k});
    const auto ar = torch::avg_pool2d(xr, {c.k, c.k}, {c.k, c.k});

    ASSERT_EQ(mx.sizes(), mr.sizes());
    EXPECT_TRUE(torch::equal(mx, mr));
    EXPECT_TRUE(torch::allclose(av, ar, 1e-6, 1e-6));
    if (c.channels_last && c.c > 1) {
      EXPECT_TRUE(mx.is_contiguous(torch::MemoryFormat::ChannelsLast));
    }

    const auto gm = torch::randn(mr.sizes());
    const auto ga = torch::randn(ar.sizes());
    ((mx * gm).sum() + (av * ga).sum()).backward();
    ((mr * gm).sum() + (ar * ga).sum()).backward();
    EXPECT_TRUE(torch::allclose(x.grad(), xr.grad(), 1e-6, 1e-6))
        << (x.grad() - xr.grad()).abs().max();
    if (c.channels_last && c.c > 1) {
      EXPECT_TRUE(x.grad().is_contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
}

TEST(MaxAvgPool, OneOutputUsedGivesThatPoolsGradientOnly) {
  torch::manual_seed(12);
  const Case c{2, 4, 16, 4, true, true};
  auto x = input_for(c).requires_grad_();
  auto xr = x.detach().clone().requires_grad_();
  auto [mx, av] = max_avg_pool(x, c.k);
  mx.sum().backward();
  torch::max_pool2d(xr, {4, 4}, {4, 4}).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), xr.grad()));
  // Each window's gradient goes to one element: its first maximum.
  EXPECT_EQ(x.grad().sum().item<float>(), static_cast<float>(mx.numel()));
}

TEST(MaxAvgPool, NanWinsItsWindowLikeAten) {
  auto x = torch::zeros({1, 2, 4, 4});
  x.index_put_({0, 0, 1, 1}, std::numeric_limits<float>::quiet_NaN());
  x.index_put_({0, 1, 2, 3}, 5.0F);
  const auto [mx, av] = max_avg_pool(x, 2);
  const auto mr = torch::max_pool2d(x, {2, 2}, {2, 2});
  EXPECT_TRUE(std::isnan(mx[0][0][0][0].item<float>()));
  EXPECT_TRUE(torch::equal(mx.nan_to_num(-1), mr.nan_to_num(-1)));
  EXPECT_EQ(mx[0][1][1][1].item<float>(), 5.0F);
  EXPECT_EQ(av[0][1][1][1].item<float>(), 1.25F);
}

TEST(MaxAvgPool, NoGradAndInferenceModeGiveTheSameValues) {
  torch::manual_seed(13);
  const auto x = torch::randn({2, 8, 16, 16})
                     .contiguous(torch::MemoryFormat::ChannelsLast);
  const auto [m1, a1] = max_avg_pool(x, 4);
  torch::InferenceMode guard;
  const auto [m2, a2] = max_avg_pool(x, 4);
  EXPECT_TRUE(torch::equal(m1, m2));
  EXPECT_TRUE(torch::equal(a1, a2));
}

TEST(MaxAvgPool, FallsBackToAtenWhereNotFused) {
  torch::manual_seed(14);
  const auto d = torch::randn({2, 3, 8, 8}, torch::kDouble);
  EXPECT_FALSE(max_avg_pool_is_fused(d, 2));
  const auto [md, ad] = max_avg_pool(d, 2);
  EXPECT_TRUE(torch::equal(md, torch::max_pool2d(d, {2, 2}, {2, 2})));
  EXPECT_TRUE(torch::equal(ad, torch::avg_pool2d(d, {2, 2}, {2, 2})));
  // A strided view that is neither NCHW- nor channels-last-contiguous.
  const auto v = torch::randn({2, 3, 8, 16}).slice(3, 0, 16, 2);
  EXPECT_FALSE(max_avg_pool_is_fused(v, 2));
  const auto [mv, av] = max_avg_pool(v, 2);
  EXPECT_TRUE(torch::equal(mv, torch::max_pool2d(v, {2, 2}, {2, 2})));
  EXPECT_FALSE(max_avg_pool_is_fused(torch::randn({2, 3, 8, 8}), 17));
}

} // namespace
} // namespace sdn::heads
