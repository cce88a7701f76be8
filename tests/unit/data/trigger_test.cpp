#include "sdn/data/trigger.h"

#include "test_files.h"

#include <gtest/gtest.h>

using namespace sdn::data;
using torch::indexing::Slice;

TEST(Trigger, WhiteSquareAtTheCorner) {
  const auto images = torch::full({2, 3, 32, 32}, 7, torch::kUInt8);
  const TriggerOptions options; // 5x5 at (26, 26)
  const auto out = apply_trigger(images, options);
  EXPECT_EQ(images.max().item<int>(), 7); // input untouched
  const auto square =
      out.index({Slice(), Slice(), Slice(26, 31), Slice(26, 31)});
  EXPECT_EQ(square.min().item<int>(), 255);
  EXPECT_EQ((out == 255).sum().item<int64_t>(), 2 * 3 * 25);
  EXPECT_EQ(out[0][0][25][26].item<int>(), 7);
  EXPECT_EQ(out[0][0][26][25].item<int>(), 7);
  EXPECT_EQ(out[0][0][31][31].item<int>(), 7);
  TriggerOptions moved;
  moved.x = 0;
  moved.y = 1;
  moved.size = 2;
  const auto m = apply_trigger(images.slice(0, 0, 1), moved);
  EXPECT_EQ(m[0][2][1][0].item<int>(), 255);
  EXPECT_EQ(m[0][2][2][1].item<int>(), 255);
  EXPECT_EQ(m[0][2][0][0].item<int>(), 7);
  EXPECT_EQ(m[0][2][1][2].item<int>(), 7);
  moved.x = 31;
  EXPECT_SDN_ERROR(apply_trigger(images, moved), "does not fit");
  moved.size = 0;
  EXPECT_SDN_ERROR(apply_trigger(images, moved), "--trigger-size");
}

TEST(Trigger, PoisonRelabelsASeededFraction) {
  Dataset d;
  d.images = torch::zeros({100, 1, 32, 32}, torch::kUInt8);
  d.labels = torch::arange(100, torch::kInt64) % 10;
  const TriggerOptions options;
  const Dataset p = poison(d, 0.2, options, 3);
  const auto changed = (p.images.flatten(1).amax(1) == 255);
  EXPECT_EQ(changed.sum().item<int64_t>(), 20);
  // Poisoned samples carry the target label and were not of it before.
  EXPECT_TRUE((p.labels.index({changed}) == 5).all().item<bool>());
  EXPECT_TRUE((d.labels.index({changed}) != 5).all().item<bool>());
  EXPECT_TRUE(torch::equal(
      p.labels.index({changed.logical_not()}),
      d.labels.index({changed.logical_not()})));
  EXPECT_TRUE(torch::equal(poison(d, 0.2, options, 3).images, p.images));
  EXPECT_FALSE(torch::equal(poison(d, 0.2, options, 4).images, p.images));
  EXPECT_TRUE(torch::equal(poison(d, 0.0, options, 3).images, d.images));
  EXPECT_SDN_ERROR(poison(d, 0.95, options, 3), "--poison-rate", "90");
  EXPECT_SDN_ERROR(poison(d, 1.5, options, 3), "--poison-rate");
  const Dataset t = triggered(d, options, /*relabel=*/true);
  EXPECT_TRUE((t.labels == 5).all().item<bool>());
  EXPECT_TRUE(torch::equal(triggered(d, options, false).labels, d.labels));
}
