#include "sdn/data/stats.h"

#include "test_files.h"

#include <gtest/gtest.h>

using namespace sdn::data;

TEST(Stats, CountsMeanAndStd) {
  Dataset d;
  d.images = torch::zeros({4, 2, 2, 2}, torch::kUInt8);
  d.images.select(1, 1).fill_(255); // channel 1 white
  d.images[0][0].fill_(255); // channel 0: one image of four white
  d.labels = torch::tensor({0, 2, 2, 1}, torch::kInt64);
  const SplitStats s = split_stats(d, 4);
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.shape, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(s.label_counts, (std::vector<int64_t>{1, 1, 2, 0}));
  EXPECT_NEAR(s.mean[0], 0.25, 1e-12);
  EXPECT_NEAR(s.std[0], std::sqrt(0.25 * 0.75), 1e-12);
  EXPECT_NEAR(s.mean[1], 1.0, 1e-12);
  EXPECT_NEAR(s.std[1], 0.0, 1e-6);
  d.labels[3] = 4;
  EXPECT_SDN_ERROR(split_stats(d, 4), "label 4", "sample 3");
}
