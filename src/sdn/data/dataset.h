#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::data {

/// Which training-time augmentation a data set uses (docs/data.md).
enum class Augment {
  kNone, ///< No augmentation (synthetic data).
  kPadCrop, ///< h-flip p=0.5, then random crop with zero padding (CIFAR).
  kPadCropJitter, ///< As kPadCrop, then ColorJitter(0.2, 0.2, 0.2, 0) (Tiny).
};

/// What a data set is: shape, classes, normalisation, augmentation.
struct DatasetInfo {
  std::string name; ///< fashion-mnist, mnist, cifar10, cifar100, ...
  int64_t channels = 3;
  int64_t side = 32; ///< Images are square, side x side after loading.
  int64_t num_classes = 10;
  std::vector<float> mean; ///< Per channel, applied to pixels in [0,1].
  std::vector<float> std; ///< Per channel.
  Augment augment = Augment::kPadCrop;
  int64_t crop_padding = 4; ///< Zero padding of the random crop.
  std::vector<std::string> class_names; ///< num_classes entries.
};

/// One split held in memory as raw pixels.
struct Dataset {
  torch::Tensor images; ///< uint8 [N, C, H, W], pixels as stored (0..255).
  torch::Tensor labels; ///< int64 [N], each in [0, num_classes).
  /// Number of samples.
  int64_t size() const {
    return labels.defined() ? labels.size(0) : 0;
  }
};

/// The CRC-32 (util/checksum.h, 8 hex digits) of a split's images and
/// labels as held in memory (uint8 pixels, then int64 labels, native byte
/// order): the same data gives the same value wherever it is read from.
std::string content_crc32(const Dataset& dataset);

/// Where and how to load a data set. validate() names the bad parameter.
struct DataOptions {
  std::string name = "fashion-mnist";
  std::string data_dir; ///< Empty: the data set's default location.
  int64_t val_size = 5000; ///< Held out from train; 0 allowed.
  int64_t train_subset = 0; ///< > 0: keep only this many training samples.
  /// Non-empty: keep only the samples of these classes (the data set's own
  /// labels, 0-based, distinct, at least 2 and not all of them), relabelled
  /// by their position in the list (classes[i] becomes label i), in every
  /// split. The rest are the held-out classes (held_out_classes).
  std::vector<int64_t> classes;
  uint64_t seed = 1221; ///< Seeds the split and the synthetic generator.
  // Synthetic data set only.
  int64_t synthetic_train = 2048;
  int64_t synthetic_test = 512;
  int64_t synthetic_classes = 10;
  int64_t synthetic_channels = 3;
  int64_t synthetic_side = 32;
  // Image folders only (--dataset folder).
  int64_t image_side = 32; ///< --image-side: images resized to 32 or 64.
  int64_t image_channels = 3; ///< --channels: 1 (luma) or 3 (RGB).
  /// --mean/--std: the per-channel normalisation of pixels in [0, 1],
  /// image_channels values each (std > 0). Image folders only; empty: the
  /// mean and population std of the training split, computed when loaded
  /// and recorded in Splits::options.
  std::vector<float> mean;
  std::vector<float> std;
  /// The classes as the files name them, in class order, before --classes:
  /// an image folder's class folders, tiny-imagenet's wnids. Recorded by
  /// load_splits (Splits::options) so that a checkpoint knows its classes
  /// without the files. Empty: read from data_dir when needed (image
  /// folders; tiny-imagenet when its folder is there, else 200 numbered
  /// classes). Other data sets: always empty.
  std::vector<std::string> class_names;
  bool show_progress = false; ///< Progress bar on stderr while decoding.

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;

  /// These options with the data read from `dir` instead (the same data
  /// moved: `--data-dir` given to a command that reads a checkpoint's
  /// data); `dir` empty: unchanged. Throws sdn::Error when the data set is
  /// synthetic (it is generated, not read, so --data-dir has no effect).
  DataOptions moved_to(const std::string& dir) const;
};

/// Train, validation (carved from train, or an image folder's val/) and
/// test splits of one data set.
struct Splits {
  DatasetInfo info;
  Dataset train;
  Dataset val; ///< Empty when val_size == 0 and there is no val/ folder.
  Dataset test;
  /// The options that loaded these splits with what was read from the
  /// files recorded: class_names (image folders, tiny-imagenet), mean and
  /// std (image folders, when computed), val_size 0 (an image folder's val/
  /// is the validation split). dataset_info(options) gives `info` without
  /// reading a file; a checkpoint stores these options.
  DataOptions options;
};

/// The data set's own labels that `options.classes` leaves out, ascending
/// (empty when it is empty). Throws sdn::Error as dataset_info does.
std::vector<int64_t> held_out_classes(const DataOptions& options);

/// Names accepted by --dataset.
const std::vector<std::string>& dataset_names();

/// Loads a data set, keeps `options.classes` (relabelled) when given, and
/// carves the validation split from its training set (a seeded permutation
/// of the kept samples; the test split is never touched), or takes an image
/// folder's val/ as it is. An image folder without `options.mean`/`std`
/// gets the mean and population std of its training split (after --classes
/// and the split). Splits::options records what was read. Throws
/// sdn::Error naming the file and what was wrong.
Splits load_splits(const DataOptions& options);

/// The info of a named data set (synthetic and image folders: from the
/// options); with `options.classes`, num_classes and class_names are those of
/// the kept classes in list order. No file is read, except the class names
/// when `options.class_names` is empty: an image folder's class folder
/// names (its mean and std stay empty unless given: load_splits computes
/// them), tiny-imagenet's wnids.txt when data_dir is a folder. Throws
/// sdn::Error naming --classes when a class is out of range, repeated, or
/// the list keeps fewer than 2 or all classes, and naming the folder when
/// an image folder's classes cannot be listed.
DatasetInfo dataset_info(const DataOptions& options);

/// `info` (of the whole data set) restricted to `classes`
/// (DataOptions::classes; empty: unchanged): num_classes and class_names of
/// the kept classes in list order. Throws sdn::Error naming --classes when a
/// class is out of range or repeated, or the list keeps fewer than 2 or all
/// classes.
DatasetInfo with_classes(DatasetInfo info, const std::vector<int64_t>& classes);

/// Keeps only the samples of `classes` in splits.train, splits.val and
/// splits.test, relabelled classes[i] -> i, and restricts splits.info
/// (with_classes). Empty `classes`: unchanged.
void keep_classes(Splits& splits, const std::vector<int64_t>& classes);

/// The samples at `indices` (positions in `dataset`), copied, in that order.
Dataset subset(const Dataset& dataset, const std::vector<int64_t>& indices);

/// Moves a seeded random `val_size` samples of splits.train into splits.val
/// (0: val stays empty), then keeps `train_subset` (> 0) random samples of
/// the rest as train. Both keep the original relative order of their samples.
/// Throws sdn::Error when val_size >= the training count or train_subset
/// exceeds what is left.
void split_validation(
    Splits& splits,
    int64_t val_size,
    int64_t train_subset,
    uint64_t seed);

} // namespace sdn::data
