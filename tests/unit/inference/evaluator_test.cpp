// The evaluator on a small untrained SDN: probabilities and progress, and
// sharded validation that adds up to exactly the one-process accuracy.
#include "sdn/inference/evaluator.h"

#include "sdn/data/synthetic.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

namespace sdn::inference {
namespace {

struct Fixture {
  data::Splits splits;
  network::SdnNetwork net{nullptr};
};

Fixture make() {
  data::DataOptions options;
  options.name = "synthetic";
  options.synthetic_train = 8;
  options.synthetic_test = 13; // not a multiple of the ranks or the batch
  options.synthetic_classes = 3;
  options.synthetic_channels = 1;
  Fixture f;
  f.splits = data::make_synthetic_splits(options);
  network::NetworkOptions n;
  n.backbone.arch = "resnet56";
  n.backbone.in_channels = 1;
  n.backbone.num_classes = 3;
  torch::manual_seed(2);
  f.net = network::SdnNetwork(n);
  return f;
}

EvalOptions quiet() {
  EvalOptions o;
  o.batch_size = 4;
  o.progress = false;
  return o;
}

TEST(ShardIndices, CoverEverySampleOnceInOrder) {
  for (const int64_t n : {0, 1, 5, 13}) {
    for (const int64_t w : {1, 2, 3, 4}) {
      std::vector<int64_t> all;
      for (int64_t r = 0; r < w; ++r) {
        const auto part = shard_indices(n, Shard{r, w});
        all.insert(all.end(), part.begin(), part.end());
      }
      ASSERT_EQ(static_cast<int64_t>(all.size()), n) << n << " " << w;
      for (int64_t i = 0; i < n; ++i) {
        EXPECT_EQ(all[static_cast<size_t>(i)], i);
      }
    }
  }
  EXPECT_THROW(shard_indices(4, Shard{2, 2}), Error);
  EXPECT_THROW(shard_indices(4, Shard{0, 0}), Error);
}

TEST(Evaluator, ReportsProgressPerBatch) {
  auto f = make();
  auto options = quiet();
  std::vector<int64_t> done;
  options.on_progress = [&](int64_t d, int64_t total) {
    EXPECT_EQ(total, 13);
    done.push_back(d);
  };
  const auto probs =
      exit_probabilities(f.net, f.splits.test, f.splits.info, options);
  EXPECT_EQ(probs.sizes().vec(), (std::vector<int64_t>{13, 7, 3}));
  EXPECT_EQ(done, (std::vector<int64_t>{4, 8, 12, 13}));
}

TEST(ShardedExitAccuracy, AddsUpToTheOneProcessAccuracy) {
  auto f = make();
  const auto& test = f.splits.test;
  const auto whole = exit_accuracy(
      exit_probabilities(f.net, test, f.splits.info, quiet()), test.labels);
  EXPECT_EQ(
      sharded_exit_accuracy(
          f.net, test, f.splits.info, quiet(), Shard{}, SumOverRanks{}),
      whole);
  // Three ranks, run one after the other: each rank's sum adds the counts
  // the others contributed, as the collective would.
  constexpr int64_t kRanks = 3;
  std::vector<std::vector<double>> counts(kRanks);
  for (int64_t r = 0; r < kRanks; ++r) {
    sharded_exit_accuracy(
        f.net,
        test,
        f.splits.info,
        quiet(),
        Shard{r, kRanks},
        [&](const std::vector<double>& v) {
          counts[static_cast<size_t>(r)] = v;
          return v;
        });
  }
  std::vector<double> total(counts[0].size(), 0);
  for (const auto& c : counts) {
    for (size_t i = 0; i < c.size(); ++i) {
      total[i] += c[i];
    }
  }
  EXPECT_EQ(total[0], 13);
  const auto sharded = sharded_exit_accuracy(
      f.net,
      test,
      f.splits.info,
      quiet(),
      Shard{0, kRanks},
      [&](const std::vector<double>&) { return total; });
  ASSERT_EQ(sharded.size(), whole.size());
  for (size_t e = 0; e < whole.size(); ++e) {
    EXPECT_DOUBLE_EQ(sharded[e], whole[e]) << "exit " << e;
  }
  // More than one rank needs a sum.
  EXPECT_THROW(
      sharded_exit_accuracy(
          f.net, test, f.splits.info, quiet(), Shard{0, 2}, SumOverRanks{}),
      Error);
}

} // namespace
} // namespace sdn::inference
