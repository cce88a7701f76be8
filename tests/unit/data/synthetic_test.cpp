#include "sdn/data/synthetic.h"

#include "test_files.h"

#include <gtest/gtest.h>

using namespace sdn::data;

namespace {

DataOptions synthetic(uint64_t seed) {
  DataOptions options;
  options.name = "synthetic";
  options.seed = seed;
  options.synthetic_train = 600;
  options.synthetic_test = 300;
  options.synthetic_classes = 5;
  options.synthetic_channels = 3;
  options.synthetic_side = 32;
  return options;
}

} // namespace

TEST(Synthetic, ShapesBalanceAndDeterminism) {
  const Splits a = make_synthetic_splits(synthetic(3));
  ASSERT_EQ(a.train.images.sizes(), (torch::IntArrayRef{600, 3, 32, 32}));
  ASSERT_EQ(a.test.images.sizes(), (torch::IntArrayRef{300, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(
      torch::bincount(a.train.labels), torch::full({5}, 120, torch::kInt64)));
  const Splits b = make_synthetic_splits(synthetic(3));
  EXPECT_TRUE(torch::equal(a.train.images, b.train.images));
  EXPECT_TRUE(torch::equal(a.test.labels, b.test.labels));
  const Splits c = make_synthetic_splits(synthetic(4));
  EXPECT_FALSE(torch::equal(a.train.images, c.train.images));
  // Train and test are different samples.
  EXPECT_FALSE(torch::equal(a.train.images.slice(0, 0, 300), a.test.images));
  auto options = synthetic(3);
  options.synthetic_channels = 1;
  options.synthetic_side = 64;
  EXPECT_EQ(
      make_synthetic_splits(options).train.images.sizes(),
      (torch::IntArrayRef{600, 1, 64, 64}));
}

TEST(Synthetic, LearnableWithASpreadOfDifficulty) {
  // Nearest class mean (from train) on test: well above chance, yet the
  // margins spread widely, so some samples are easy and some hard.
  const Splits s = make_synthetic_splits(synthetic(11));
  const auto x = s.train.images.to(torch::kFloat32).flatten(1) / 255;
  const auto t = s.test.images.to(torch::kFloat32).flatten(1) / 255;
  std::vector<torch::Tensor> means;
  for (int c = 0; c < 5; ++c) {
    means.push_back(x.index({s.train.labels == c}).mean(0));
  }
  const auto centres = torch::stack(means);
  const auto dist = torch::cdist(t, centres);
  const auto predicted = dist.argmin(1);
  const double accuracy =
      (predicted == s.test.labels).to(torch::kFloat64).mean().item<double>();
  EXPECT_GT(accuracy, 0.6);
  EXPECT_LT(accuracy, 0.995);
  // Margin: distance to the nearest wrong centre minus to the own centre.
  const auto own = dist.gather(1, s.test.labels.unsqueeze(1)).squeeze(1);
  const auto masked = dist.scatter(1, s.test.labels.unsqueeze(1), 1e9);
  const auto margin = std::get<0>(masked.min(1)) - own;
  const auto sorted = std::get<0>(margin.sort());
  const double q10 = sorted[30].item<double>(),
               q90 = sorted[270].item<double>();
  EXPECT_GT(q90, 3 * std::max(q10, 0.01)) << q10 << " " << q90;
}
