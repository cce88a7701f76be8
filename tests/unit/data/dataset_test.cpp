#include "sdn/data/dataset.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <set>

using namespace sdn::data;

namespace {

// A data set whose pixel (0,0,0) encodes the sample's id for tracking.
Splits numbered(int64_t n) {
  Splits s;
  s.info.name = "numbered";
  s.train.images = torch::zeros({n, 1, 2, 2}, torch::kUInt8);
  s.train.labels = torch::arange(n, torch::kInt64);
  s.test = Dataset{
      torch::zeros({3, 1, 2, 2}, torch::kUInt8),
      torch::zeros({3}, torch::kInt64)};
  return s;
}

std::vector<int64_t> ids(const Dataset& d) {
  const auto l = d.labels.contiguous();
  return std::vector<int64_t>(
      l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
}

} // namespace

TEST(Split, DisjointSizesAndDeterministic) {
  Splits a = numbered(100);
  split_validation(a, /*val_size=*/20, /*train_subset=*/0, /*seed=*/7);
  ASSERT_EQ(a.val.size(), 20);
  ASSERT_EQ(a.train.size(), 80);
  std::set<int64_t> all;
  for (auto v : ids(a.val)) {
    all.insert(v);
  }
  for (auto v : ids(a.train)) {
    EXPECT_EQ(all.count(v), 0u) << v << " in both";
    all.insert(v);
  }
  EXPECT_EQ(all.size(), 100u);
  EXPECT_EQ(a.test.size(), 3); // untouched
  // Sorted within each split; same seed same split; other seed another one.
  const auto val = ids(a.val);
  EXPECT_TRUE(std::is_sorted(val.begin(), val.end()));
  Splits b = numbered(100);
  split_validation(b, 20, 0, 7);
  EXPECT_EQ(ids(b.val), val);
  Splits c = numbered(100);
  split_validation(c, 20, 0, 8);
  EXPECT_NE(ids(c.val), val);
}

TEST(Split, TrainSubsetAndZeroVal) {
  Splits a = numbered(50);
  split_validation(a, 10, 15, 1);
  EXPECT_EQ(a.val.size(), 10);
  EXPECT_EQ(a.train.size(), 15);
  const auto val_ids = ids(a.val);
  const std::set<int64_t> val(val_ids.begin(), val_ids.end());
  for (auto v : ids(a.train)) {
    EXPECT_EQ(val.count(v), 0u);
  }
  Splits b = numbered(50);
  split_validation(b, 0, 0, 1);
  EXPECT_EQ(b.val.size(), 0);
  EXPECT_FALSE(b.val.images.defined());
  EXPECT_EQ(b.train.size(), 50);
}

TEST(Split, RejectsBadSizes) {
  Splits a = numbered(10);
  EXPECT_SDN_ERROR(split_validation(a, 10, 0, 1), "--val-size", "10");
  EXPECT_SDN_ERROR(split_validation(a, 5, 6, 1), "--train-subset");
  EXPECT_SDN_ERROR(split_validation(a, -1, 0, 1), "--val-size");
}

TEST(Split, LoadSplitsCarvesValidationFromSynthetic) {
  DataOptions options;
  options.name = "synthetic";
  options.synthetic_train = 64;
  options.synthetic_test = 16;
  options.val_size = 10;
  options.train_subset = 20;
  const Splits s = load_splits(options);
  EXPECT_EQ(s.train.size(), 20);
  EXPECT_EQ(s.val.size(), 10);
  EXPECT_EQ(s.test.size(), 16);
  options.val_size = 64;
  options.train_subset = 0;
  EXPECT_SDN_ERROR(load_splits(options), "--val-size 64", "64 training");
}

TEST(DataOptions, ValidateNamesTheParameter) {
  DataOptions options;
  options.name = "imagenet";
  EXPECT_SDN_ERROR(options.validate(), "--dataset", "imagenet");
  options = DataOptions{};
  options.val_size = -3;
  EXPECT_SDN_ERROR(options.validate(), "--val-size");
  options = DataOptions{};
  options.name = "synthetic";
  options.synthetic_side = 48;
  EXPECT_SDN_ERROR(options.validate(), "--synthetic-side");
}

TEST(Classes, KeepClassesFiltersAndRelabelsInListOrder) {
  Splits s;
  s.info.name = "five";
  s.info.num_classes = 5;
  s.info.class_names = {"a", "b", "c", "d", "e"};
  s.train = Dataset{
      torch::arange(10, torch::kInt64).to(torch::kUInt8).view({10, 1, 1, 1}),
      torch::tensor({0, 1, 2, 3, 4, 4, 3, 2, 1, 0}, torch::kInt64)};
  s.test = Dataset{
      torch::zeros({3, 1, 1, 1}, torch::kUInt8),
      torch::tensor({4, 2, 3}, torch::kInt64)};
  keep_classes(s, {3, 0});
  EXPECT_EQ(s.info.num_classes, 2);
  EXPECT_EQ(s.info.class_names, (std::vector<std::string>{"d", "a"}));
  // Samples 0 (class 0), 3 (class 3), 6 (class 3), 9 (class 0), in order.
  EXPECT_EQ(ids(s.train), (std::vector<int64_t>{1, 0, 0, 1}));
  const auto pixels = s.train.images.flatten();
  EXPECT_EQ(pixels[0].item<int>(), 0);
  EXPECT_EQ(pixels[1].item<int>(), 3);
  EXPECT_EQ(pixels[2].item<int>(), 6);
  EXPECT_EQ(pixels[3].item<int>(), 9);
  EXPECT_EQ(ids(s.test), (std::vector<int64_t>{0}));
  EXPECT_EQ(s.val.size(), 0); // an empty split stays empty
}

TEST(Classes, ListsAreCheckedAgainstTheDataSet) {
  DataOptions options; // fashion-mnist: 10 classes, no file read here
  options.classes = {0, 10};
  EXPECT_SDN_ERROR(dataset_info(options), "--classes", "10", "0 to 9");
  options.classes = {2, 5, 2};
  EXPECT_SDN_ERROR(dataset_info(options), "--classes", "class 2", "twice");
  options.classes = {4};
  EXPECT_SDN_ERROR(dataset_info(options), "--classes", "at least 2");
  options.classes = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_SDN_ERROR(dataset_info(options), "--classes", "all 10");
  options.classes = {9, 0, 5};
  const DatasetInfo info = dataset_info(options);
  EXPECT_EQ(info.num_classes, 3);
  EXPECT_EQ(
      info.class_names,
      (std::vector<std::string>{"Ankle boot", "T-shirt/top", "Sandal"}));
  EXPECT_EQ(
      held_out_classes(options), (std::vector<int64_t>{1, 2, 3, 4, 6, 7, 8}));
  options.classes.clear();
  EXPECT_TRUE(held_out_classes(options).empty());
}

TEST(Classes, LoadSplitsKeepsTheClassesBeforeTheValidationSplit) {
  DataOptions options;
  options.name = "synthetic";
  options.synthetic_train = 200;
  options.synthetic_test = 100;
  options.val_size = 10;
  const Splits all = load_splits(options);
  options.classes = {7, 2};
  const Splits kept = load_splits(options);
  EXPECT_EQ(kept.info.num_classes, 2);
  const auto count = [](const Dataset& d, int64_t k) {
    return (d.labels == k).sum().item<int64_t>();
  };
  // Every kept test image, relabelled; the validation split is carved from
  // the kept training images (all of them: val + train).
  EXPECT_EQ(kept.test.size(), count(all.test, 7) + count(all.test, 2));
  EXPECT_EQ(count(kept.test, 0), count(all.test, 7));
  EXPECT_EQ(kept.val.size(), 10);
  EXPECT_EQ(
      kept.train.size() + kept.val.size(),
      count(all.train, 7) + count(all.train, 2) + count(all.val, 7) +
          count(all.val, 2));
  EXPECT_EQ(kept.test.labels.max().item<int64_t>(), 1);
}
