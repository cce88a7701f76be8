#include "sdn/train/schedules.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <cmath>

using sdn::train::ic_weights_at_epoch;
using sdn::train::lr_at_epoch;

TEST(LrSchedule, PaperHundredEpochRecipe) {
  // docs/training.md#modes-and-recipes: epochs 1-34 at 0.1, 35-59 at 0.01,
  // 60-84 at 1e-3, 85-100 1e-4.
  const std::vector<int64_t> m = {35, 60, 85};
  EXPECT_DOUBLE_EQ(lr_at_epoch(0.1, m, 0.1, 1), 0.1);
  EXPECT_DOUBLE_EQ(lr_at_epoch(0.1, m, 0.1, 34), 0.1);
  EXPECT_DOUBLE_EQ(lr_at_epoch(0.1, m, 0.1, 35), 0.01);
  EXPECT_DOUBLE_EQ(lr_at_epoch(0.1, m, 0.1, 59), 0.01);
  EXPECT_DOUBLE_EQ(lr_at_epoch(0.1, m, 0.1, 60), 0.001);
  EXPECT_DOUBLE_EQ(lr_at_epoch(0.1, m, 0.1, 84), 0.001);
  EXPECT_DOUBLE_EQ(lr_at_epoch(0.1, m, 0.1, 85), 0.0001);
  EXPECT_DOUBLE_EQ(lr_at_epoch(0.1, m, 0.1, 100), 0.0001);
}

TEST(LrSchedule, IcOnlyRecipe) {
  // IC-only: epochs 1-14 at 1e-3, 15-25 at 1e-4.
  EXPECT_DOUBLE_EQ(lr_at_epoch(1e-3, {15}, 0.1, 14), 1e-3);
  EXPECT_DOUBLE_EQ(lr_at_epoch(1e-3, {15}, 0.1, 15), 1e-4);
  EXPECT_DOUBLE_EQ(lr_at_epoch(1e-3, {15}, 0.1, 25), 1e-4);
}

TEST(IcWeights, RampFromOnePercentToCaps) {
  // tau_i(e) = min(C_i, 0.01 + e * C_i / E), E = 100.
  const auto first = ic_weights_at_epoch(1, 100, 6);
  ASSERT_EQ(first.size(), 6u);
  EXPECT_NEAR(first[0], 0.0115, 1e-12);
  EXPECT_NEAR(first[5], 0.019, 1e-12);
  const auto mid = ic_weights_at_epoch(50, 100, 6);
  EXPECT_NEAR(mid[0], 0.085, 1e-12);
  EXPECT_NEAR(mid[5], 0.46, 1e-12);
  // IC1 reaches its cap from epoch 94, IC6 from epoch 99
  // (docs/training.md#sdn-training-loss-weights).
  EXPECT_LT(ic_weights_at_epoch(93, 100, 6)[0], 0.15);
  EXPECT_DOUBLE_EQ(ic_weights_at_epoch(94, 100, 6)[0], 0.15);
  EXPECT_LT(ic_weights_at_epoch(98, 100, 6)[5], 0.9);
  EXPECT_DOUBLE_EQ(ic_weights_at_epoch(99, 100, 6)[5], 0.9);
  // MobileNet's 5 ICs use the first five caps.
  const auto five = ic_weights_at_epoch(100, 100, 5);
  ASSERT_EQ(five.size(), 5u);
  EXPECT_DOUBLE_EQ(five[4], 0.75);
}

TEST(IcWeights, OneEpochRunReachesCapsAtOnce) {
  const auto w = ic_weights_at_epoch(1, 1, 6);
  EXPECT_DOUBLE_EQ(w[0], 0.15);
  EXPECT_DOUBLE_EQ(w[5], 0.9);
}

TEST(Warmup, LinearThenFlat) {
  EXPECT_DOUBLE_EQ(sdn::train::warmup_factor(0, 4), 0.25);
  EXPECT_DOUBLE_EQ(sdn::train::warmup_factor(3, 4), 1.0);
  EXPECT_DOUBLE_EQ(sdn::train::warmup_factor(10, 4), 1.0);
  EXPECT_DOUBLE_EQ(sdn::train::warmup_factor(0, 0), 1.0);
}

TEST(Cosine, FromOneTowardsZeroAsHalfACosine) {
  using sdn::train::cosine_factor;
  EXPECT_DOUBLE_EQ(cosine_factor(0, 100), 1.0);
  EXPECT_NEAR(cosine_factor(50, 100), 0.5, 1e-12);
  EXPECT_NEAR(cosine_factor(25, 100), (1 + std::sqrt(0.5)) / 2, 1e-12);
  EXPECT_NEAR(cosine_factor(99, 100), (1 + std::cos(M_PI * 0.99)) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(cosine_factor(100, 100), 0.0);
  EXPECT_DOUBLE_EQ(cosine_factor(150, 100), 0.0);
  EXPECT_THROW(cosine_factor(-1, 100), sdn::Error);
  EXPECT_THROW(cosine_factor(0, 0), sdn::Error);
}
