#include "sdn/data/loader.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace sdn::data;

namespace {

struct Fixture {
  Dataset data;
  DatasetInfo info;
};

Fixture make(int64_t n) {
  DataOptions options;
  options.name = "cifar10";
  Fixture f{Dataset{}, dataset_info(options)};
  f.data.images = torch::randint(0, 256, {n, 3, 32, 32}, torch::kUInt8);
  f.data.labels = torch::arange(n, torch::kInt64) % 10;
  return f;
}

struct Epoch {
  std::vector<int64_t> indices;
  std::vector<torch::Tensor> images;
  std::vector<int64_t> sizes;
};

Epoch run(const Fixture& f, const LoaderOptions& options) {
  BatchLoader loader(f.data, f.info, options);
  Epoch e;
  Batch b;
  while (loader.next(b)) {
    EXPECT_EQ(b.images.scalar_type(), torch::kFloat32);
    EXPECT_EQ(b.images.size(0), b.labels.size(0));
    EXPECT_TRUE(
        torch::equal(b.labels, f.data.labels.index_select(0, b.indices)));
    e.sizes.push_back(b.images.size(0));
    e.images.push_back(b.images);
    for (int64_t i = 0; i < b.indices.size(0); ++i) {
      e.indices.push_back(b.indices[i].item<int64_t>());
    }
  }
  EXPECT_EQ(static_cast<int64_t>(e.sizes.size()), loader.num_batches());
  EXPECT_EQ(static_cast<int64_t>(e.indices.size()), loader.num_samples());
  EXPECT_FALSE(loader.next(b)); // stays over
  return e;
}

} // namespace

TEST(Loader, EverySampleOncePerEpoch) {
  const Fixture f = make(103);
  LoaderOptions o;
  o.batch_size = 16;
  o.shuffle = true;
  o.augment = true;
  const Epoch e = run(f, o);
  EXPECT_EQ(e.sizes.size(), 7u);
  EXPECT_EQ(e.sizes.back(), 103 - 6 * 16);
  std::vector<int64_t> sorted = e.indices;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 103; ++i) {
    EXPECT_EQ(sorted[i], i);
  }
  EXPECT_FALSE(std::is_sorted(e.indices.begin(), e.indices.end()));
  o.drop_last = true;
  EXPECT_EQ(run(f, o).indices.size(), 96u);
}

TEST(Loader, SameSeedSameBatchesOtherEpochOtherOrder) {
  const Fixture f = make(64);
  LoaderOptions o;
  o.batch_size = 10;
  o.shuffle = true;
  o.augment = true;
  o.epoch = 3;
  const Epoch a = run(f, o);
  o.prefetch = 0; // synchronous path gives the same batches
  const Epoch b = run(f, o);
  ASSERT_EQ(a.indices, b.indices);
  for (size_t i = 0; i < a.images.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.images[i], b.images[i]));
  }
  o.epoch = 4;
  EXPECT_NE(run(f, o).indices, a.indices);
  // Augmentation depends on the sample, not its batch: batch size 7 gives
  // the same image for sample a.indices[0].
  o.epoch = 3;
  o.batch_size = 7;
  const Epoch c = run(f, o);
  EXPECT_EQ(c.indices, a.indices);
  EXPECT_TRUE(torch::equal(c.images[0][0], a.images[0][0]));
  // Without shuffle, sequential and not augmented equals normalize().
  LoaderOptions plain;
  plain.batch_size = 64;
  const Epoch p = run(f, plain);
  EXPECT_TRUE(std::is_sorted(p.indices.begin(), p.indices.end()));
  EXPECT_TRUE(torch::equal(p.images[0], normalize(f.data.images, f.info)));
}

TEST(Loader, ShardsAreDisjointAndEqual) {
  const Fixture f = make(50);
  LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = true;
  o.world_size = 3;
  std::set<int64_t> seen;
  for (int64_t r = 0; r < 3; ++r) {
    o.rank = r;
    const Epoch e = run(f, o);
    EXPECT_EQ(e.indices.size(), 16u); // 50 / 3, remainder dropped
    EXPECT_EQ(e.sizes.size(), 4u);
    for (auto i : e.indices) {
      EXPECT_TRUE(seen.insert(i).second) << i << " in two shards";
    }
  }
  EXPECT_EQ(seen.size(), 48u);
}

TEST(Loader, RanksTogetherFormTheBatchOfOneProcess) {
  // Data-parallel equivalence: the k-th batches of W ranks with batch B hold
  // the samples (and augmentations) of the k-th batch of one process with
  // batch W * B.
  const Fixture f = make(48);
  LoaderOptions one;
  one.batch_size = 8;
  one.shuffle = true;
  one.augment = true;
  one.epoch = 3;
  const Epoch whole = run(f, one);
  LoaderOptions o = one;
  o.batch_size = 4;
  o.world_size = 2;
  std::vector<Epoch> ranks;
  for (int64_t r = 0; r < 2; ++r) {
    o.rank = r;
    ranks.push_back(run(f, o));
  }
  ASSERT_EQ(ranks[0].images.size(), whole.images.size());
  for (size_t k = 0; k < whole.images.size(); ++k) {
    std::map<int64_t, torch::Tensor> expected;
    for (int64_t j = 0; j < 8; ++j) {
      expected[whole.indices[k * 8 + j]] = whole.images[k][j];
    }
    for (const auto& rank : ranks) {
      for (int64_t j = 0; j < 4; ++j) {
        const int64_t index = rank.indices[k * 4 + j];
        ASSERT_EQ(expected.count(index), 1u) << "batch " << k;
        EXPECT_TRUE(torch::equal(expected[index], rank.images[k][j]));
        expected.erase(index);
      }
    }
    EXPECT_TRUE(expected.empty());
  }
}

TEST(Loader, StopsCleanlyMidEpochAndValidates) {
  const Fixture f = make(200);
  for (int prefetch : {1, 2, 8}) {
    LoaderOptions o;
    o.batch_size = 8;
    o.prefetch = prefetch;
    BatchLoader loader(f.data, f.info, o);
    Batch b;
    ASSERT_TRUE(loader.next(b));
  } // destructor joins with the worker blocked on a full queue
  LoaderOptions bad;
  bad.batch_size = 0;
  EXPECT_SDN_ERROR(BatchLoader(f.data, f.info, bad), "--batch-size");
  bad = LoaderOptions{};
  bad.rank = 2;
  bad.world_size = 2;
  EXPECT_SDN_ERROR(BatchLoader(f.data, f.info, bad), "rank");
  DatasetInfo grey = f.info;
  grey.channels = 1;
  EXPECT_SDN_ERROR(
      BatchLoader(f.data, grey, LoaderOptions{}), "expected uint8 images");
}

TEST(Loader, WorkerErrorsReachNext) {
  Fixture f = make(40);
  // A mean/std shorter than the channel count is caught up front...
  DatasetInfo broken = f.info;
  broken.mean = {0.5f};
  EXPECT_SDN_ERROR(BatchLoader(f.data, broken, LoaderOptions{}), "mean");
  // ...and an error raised while a batch is prepared surfaces in next(),
  // after the batches before it.
  f.data.labels[17] = -1;
  for (int prefetch : {0, 2}) {
    LoaderOptions o;
    o.batch_size = 8;
    o.prefetch = prefetch;
    BatchLoader loader(f.data, f.info, o);
    Batch b;
    ASSERT_TRUE(loader.next(b));
    ASSERT_TRUE(loader.next(b));
    EXPECT_SDN_ERROR(loader.next(b), "sample 17", "label -1");
  }
}
