// load_splits: dispatches to the reader of each data set, checks what it read
// against the data set's static facts, and carves the validation split.
#include "sdn/data/dataset.h"

#include "sdn/data/cifar.h"
#include "sdn/data/idx.h"
#include "sdn/data/image_folder.h"
#include "sdn/data/rng.h"
#include "sdn/data/stats.h"
#include "sdn/data/synthetic.h"
#include "sdn/data/tiny_imagenet.h"
#include "sdn/util/checksum.h"
#include "sdn/util/error.h"

#include <algorithm>
#include <filesystem>

namespace sdn::data {

namespace {

void check_split(const Dataset& split, const DatasetInfo& info, const char* n) {
  check(
      split.images.defined() && split.images.dim() == 4 &&
          split.images.scalar_type() == torch::kUInt8,
      info.name,
      " ",
      n,
      ": expected uint8 images [N, C, H, W]");
  check(
      split.images.size(1) == info.channels &&
          split.images.size(2) == info.side &&
          split.images.size(3) == info.side,
      info.name,
      " ",
      n,
      ": images are ",
      split.images.sizes(),
      ", expected [N, ",
      info.channels,
      ", ",
      info.side,
      ", ",
      info.side,
      "]");
  check(
      split.labels.size(0) == split.images.size(0),
      info.name,
      " ",
      n,
      ": ",
      split.images.size(0),
      " images but ",
      split.labels.size(0),
      " labels");
}

} // namespace

Dataset subset(const Dataset& dataset, const std::vector<int64_t>& indices) {
  const auto index = torch::tensor(indices, torch::kInt64);
  return Dataset{
      dataset.images.index_select(0, index),
      dataset.labels.index_select(0, index)};
}

void keep_classes(Splits& splits, const std::vector<int64_t>& classes) {
  if (classes.empty()) {
    return;
  }
  const int64_t k = splits.info.num_classes;
  splits.info = with_classes(splits.info, classes); // checks the list
  // new_label[c]: the label class c gets, -1 when it is left out.
  std::vector<int64_t> new_label(static_cast<size_t>(k), -1);
  for (size_t i = 0; i < classes.size(); ++i) {
    new_label[static_cast<size_t>(classes[i])] = static_cast<int64_t>(i);
  }
  for (Dataset* split : {&splits.train, &splits.val, &splits.test}) {
    if (split->size() == 0) {
      continue;
    }
    const auto labels = split->labels.contiguous();
    const int64_t* y = labels.data_ptr<int64_t>();
    std::vector<int64_t> kept;
    std::vector<int64_t> relabelled;
    for (int64_t i = 0; i < split->size(); ++i) {
      check(
          y[i] >= 0 && y[i] < k,
          "--classes: label ",
          y[i],
          " of sample ",
          i,
          " is not a class of ",
          splits.info.name);
      const int64_t to = new_label[static_cast<size_t>(y[i])];
      if (to >= 0) {
        kept.push_back(i);
        relabelled.push_back(to);
      }
    }
    *split = subset(*split, kept);
    split->labels = torch::tensor(relabelled, torch::kInt64);
  }
}

void split_validation(
    Splits& splits,
    int64_t val_size,
    int64_t train_subset,
    uint64_t seed) {
  const int64_t n = splits.train.size();
  check(val_size >= 0, "--val-size must be >= 0, got ", val_size);
  check(
      val_size < n,
      "--val-size ",
      val_size,
      " must be smaller than the ",
      n,
      " training samples of ",
      splits.info.name,
      " (give a smaller --val-size; 0 for none)");
  check(train_subset >= 0, "--train-subset must be >= 0, got ", train_subset);
  check(
      train_subset <= n - val_size,
      "--train-subset ",
      train_subset,
      " exceeds the ",
      n - val_size,
      " training samples left after the validation split");
  if (val_size == 0 && train_subset == 0) {
    return;
  }
  const auto order = permutation(n, derive_seed(seed, Stream::kSplit));
  std::vector<int64_t> val(order.begin(), order.begin() + val_size);
  const int64_t keep = train_subset > 0 ? train_subset : n - val_size;
  std::vector<int64_t> train(
      order.begin() + val_size, order.begin() + val_size + keep);
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  if (val_size > 0) {
    splits.val = subset(splits.train, val);
  }
  splits.train = subset(splits.train, train);
}

Splits load_splits(const DataOptions& options) {
  dataset_info(options); // validates, --classes too
  // The readers load the whole data set; --classes is applied after.
  DataOptions all = options;
  all.classes.clear();
  const DatasetInfo info = dataset_info(all);
  // What the files say, recorded in the options (Splits::options).
  DataOptions recorded = options;
  if (!options.data_dir.empty()) {
    // Absolute, so that a checkpoint finds its data from any working folder.
    recorded.data_dir =
        std::filesystem::absolute(options.data_dir).lexically_normal().string();
  }
  if (options.name == "folder" || options.name == "tiny-imagenet") {
    recorded.class_names = info.class_names;
  }
  Splits splits;
  if (options.name == "fashion-mnist" || options.name == "mnist") {
    splits = read_idx_splits(options.data_dir, info);
  } else if (options.name == "cifar10" || options.name == "cifar100") {
    splits = read_cifar_splits(options.data_dir, info);
  } else if (options.name == "tiny-imagenet") {
    splits = read_tiny_imagenet_splits(
        options.data_dir, info, options.show_progress);
  } else if (options.name == "folder") {
    splits =
        read_image_folder_splits(options.data_dir, info, options.show_progress);
  } else {
    splits = make_synthetic_splits(all);
  }
  check_split(splits.train, splits.info, "train");
  check_split(splits.test, splits.info, "test");
  // An image folder's val/ is the validation split: nothing carved.
  const bool has_val = splits.val.size() > 0;
  if (has_val) {
    check_split(splits.val, splits.info, "val");
    recorded.val_size = 0;
  }
  keep_classes(splits, options.classes);
  check(
      options.classes.empty() || recorded.val_size < splits.train.size(),
      "--val-size ",
      recorded.val_size,
      " must be smaller than the ",
      splits.train.size(),
      " training samples of the classes --classes keeps");
  split_validation(
      splits, recorded.val_size, options.train_subset, options.seed);
  if (options.name == "folder" && options.mean.empty()) {
    const SplitStats stats = split_stats(splits.train, splits.info.num_classes);
    recorded.mean.assign(stats.mean.begin(), stats.mean.end());
    recorded.std.assign(stats.std.begin(), stats.std.end());
    for (float& s : recorded.std) {
      // A training split of one flat colour: no scaling.
      s = s > 0 ? s : 1.f;
    }
    splits.info.mean = recorded.mean;
    splits.info.std = recorded.std;
  }
  splits.options = recorded;
  return splits;
}

std::string content_crc32(const Dataset& dataset) {
  uint32_t crc = 0;
  for (const torch::Tensor& t : {dataset.images, dataset.labels}) {
    if (!t.defined()) {
      continue;
    }
    const torch::Tensor c = t.contiguous();
    crc = crc32_update(crc, c.data_ptr(), c.nbytes());
  }
  return crc32_hex(crc);
}

} // namespace sdn::data
