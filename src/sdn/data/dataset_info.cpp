// Static facts about each supported data set (docs/data.md): shapes,
// classes, normalisation constants and augmentation. No file is read here
// but the class names of image folders and Tiny ImageNet, when the options
// do not record them.
#include "sdn/data/dataset.h"

#include "sdn/data/image_folder.h"
#include "sdn/data/tiny_imagenet.h"
#include "sdn/util/error.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace sdn::data {

namespace {

std::vector<std::string> numbered_classes(int64_t n) {
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    names.push_back(std::to_string(i));
  }
  return names;
}

// Checks `classes` (DataOptions::classes) against a data set of `k` classes.
void check_classes(const std::vector<int64_t>& classes, int64_t k) {
  for (size_t i = 0; i < classes.size(); ++i) {
    check(
        classes[i] >= 0 && classes[i] < k,
        "--classes: ",
        classes[i],
        " is not a class of the data set (expected 0 to ",
        k - 1,
        ")");
    check(
        std::find(
            classes.begin(),
            classes.begin() + static_cast<long>(i),
            classes[i]) == classes.begin() + static_cast<long>(i),
        "--classes: class ",
        classes[i],
        " is listed twice");
  }
  check(
      classes.size() >= 2,
      "--classes: expected at least 2 classes, got ",
      classes.size());
  check(
      static_cast<int64_t>(classes.size()) < k,
      "--classes lists all ",
      k,
      " classes of the data set; leave it out to keep all of them");
}

} // namespace

std::vector<int64_t> held_out_classes(const DataOptions& options) {
  if (options.classes.empty()) {
    return {};
  }
  dataset_info(options); // validates the list
  DataOptions all = options;
  all.classes.clear();
  std::vector<int64_t> out;
  for (int64_t c = 0; c < dataset_info(all).num_classes; ++c) {
    if (std::find(options.classes.begin(), options.classes.end(), c) ==
        options.classes.end()) {
      out.push_back(c);
    }
  }
  return out;
}

DatasetInfo with_classes(
    DatasetInfo info,
    const std::vector<int64_t>& classes) {
  if (classes.empty()) {
    return info;
  }
  check_classes(classes, info.num_classes);
  std::vector<std::string> names;
  for (const int64_t c : classes) {
    names.push_back(info.class_names.at(static_cast<size_t>(c)));
  }
  info.class_names = std::move(names);
  info.num_classes = static_cast<int64_t>(classes.size());
  return info;
}

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {
      "fashion-mnist",
      "mnist",
      "cifar10",
      "cifar100",
      "tiny-imagenet",
      "folder",
      "synthetic"};
  return names;
}

DataOptions DataOptions::moved_to(const std::string& dir) const {
  if (dir.empty()) {
    return *this;
  }
  check(
      name != "synthetic",
      "--data-dir has no effect: the checkpoint's data set is synthetic "
      "(generated, not read)");
  DataOptions moved = *this;
  moved.data_dir = dir;
  return moved;
}

void DataOptions::validate() const {
  const auto& names = dataset_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string known;
    for (const auto& n : names) {
      known += (known.empty() ? "" : ", ") + n;
    }
    fail(
        "--dataset: unknown data set '",
        name,
        "' (expected one of ",
        known,
        ")");
  }
  check(val_size >= 0, "--val-size must be >= 0, got ", val_size);
  check(train_subset >= 0, "--train-subset must be >= 0, got ", train_subset);
  if (name == "folder") {
    check(
        !data_dir.empty(),
        "--dataset folder needs --data-dir DIR: a folder holding "
        "train/<class>/ and test/<class>/ with the images");
    check(
        image_side == 32 || image_side == 64,
        "--image-side must be 32 or 64, got ",
        image_side);
    check(
        image_channels == 1 || image_channels == 3,
        "--channels must be 1 or 3, got ",
        image_channels);
    check(
        mean.empty() == std.empty(),
        "--mean and --std go together: give both or neither");
    for (const auto* values : {&mean, &std}) {
      const char* option = values == &mean ? "--mean" : "--std";
      if (!values->empty() &&
          static_cast<int64_t>(values->size()) != image_channels) {
        // The values as read: an empty item between commas is not one.
        std::string read;
        for (const float v : *values) {
          read += (read.empty() ? "" : ",") + std::to_string(v);
        }
        fail(
            option,
            ": expected ",
            image_channels,
            " values (one per channel, --channels ",
            image_channels,
            "), got ",
            values->size(),
            " (",
            read,
            ")");
      }
      for (const float v : *values) {
        check(std::isfinite(v), option, ": values must be finite, got ", v);
        // Below 1e-6 a pixel's (x - mean) / std leaves float32's range.
        check(
            values == &mean || v >= 1e-6f,
            "--std: values must be at least 1e-6, got ",
            v);
        check(
            values == &std || std::fabs(v) <= 1e3f,
            "--mean: values must be within [-1000, 1000] (pixels are in "
            "[0, 1]), got ",
            v);
      }
    }
  } else {
    check(
        mean.empty() && std.empty(),
        "--mean/--std apply to --dataset folder only (",
        name,
        " has fixed normalisation constants)");
  }
  check(
      class_names.empty() || name == "folder" || name == "tiny-imagenet",
      "class names are read from the files of image folders and "
      "tiny-imagenet only, not ",
      name);
  if (name == "synthetic") {
    check(
        synthetic_train > 0,
        "--synthetic-train must be > 0, got ",
        synthetic_train);
    check(
        synthetic_test > 0,
        "--synthetic-test must be > 0, got ",
        synthetic_test);
    check(
        synthetic_classes >= 2,
        "--synthetic-classes must be >= 2, got ",
        synthetic_classes);
    check(
        synthetic_channels == 1 || synthetic_channels == 3,
        "--synthetic-channels must be 1 or 3, got ",
        synthetic_channels);
    check(
        synthetic_side == 32 || synthetic_side == 64,
        "--synthetic-side must be 32 or 64, got ",
        synthetic_side);
  }
}

DatasetInfo dataset_info(const DataOptions& options) {
  options.validate();
  DatasetInfo info;
  info.name = options.name;
  if (options.name == "fashion-mnist" || options.name == "mnist") {
    // 28x28 zero-padded to 32x32, one channel. Constants: mean and std of
    // the padded training images (measured; 0.2860/0.3530 before padding
    // for Fashion-MNIST, 0.1307/0.3081 for MNIST).
    info.channels = 1;
    info.side = 32;
    info.num_classes = 10;
    if (options.name == "fashion-mnist") {
      info.mean = {0.2190f};
      info.std = {0.3318f};
      info.class_names = {
          "T-shirt/top",
          "Trouser",
          "Pullover",
          "Dress",
          "Coat",
          "Sandal",
          "Shirt",
          "Sneaker",
          "Bag",
          "Ankle boot"};
    } else {
      info.mean = {0.1000f};
      info.std = {0.2752f};
      info.class_names = numbered_classes(10);
    }
    info.augment = Augment::kPadCrop;
    info.crop_padding = 4;
  } else if (options.name == "cifar10") {
    // ImageNet statistics, as the original code uses
    // (docs/quirks.md#cifar-10-uses-imagenet-statistics).
    info.channels = 3;
    info.side = 32;
    info.num_classes = 10;
    info.mean = {0.485f, 0.456f, 0.406f};
    info.std = {0.229f, 0.224f, 0.225f};
    info.class_names = {
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck"};
    info.augment = Augment::kPadCrop;
    info.crop_padding = 4;
  } else if (options.name == "cifar100") {
    info.channels = 3;
    info.side = 32;
    info.num_classes = 100;
    info.mean = {0.507f, 0.487f, 0.441f};
    info.std = {0.267f, 0.256f, 0.276f};
    info.class_names = numbered_classes(100);
    info.augment = Augment::kPadCrop;
    info.crop_padding = 4;
  } else if (options.name == "tiny-imagenet") {
    info.channels = 3;
    info.side = 64;
    // The wnids: recorded, read from wnids.txt, or (no folder to read: a
    // checkpoint of the whole data set moved elsewhere) the 200 of the
    // whole data set, numbered.
    if (!options.class_names.empty()) {
      info.class_names = options.class_names;
    } else if (
        !options.data_dir.empty() &&
        std::filesystem::is_directory(options.data_dir)) {
      info.class_names = read_tiny_imagenet_wnids(options.data_dir);
    } else {
      info.class_names = numbered_classes(200);
    }
    info.num_classes = static_cast<int64_t>(info.class_names.size());
    info.mean = {0.4802f, 0.4481f, 0.3975f};
    info.std = {0.2302f, 0.2265f, 0.2262f};
    info.augment = Augment::kPadCropJitter;
    info.crop_padding = 8;
  } else if (options.name == "folder") {
    info.channels = options.image_channels;
    info.side = options.image_side;
    info.class_names = options.class_names.empty() ?
        image_folder_classes(options.data_dir) :
        options.class_names;
    info.num_classes = static_cast<int64_t>(info.class_names.size());
    info.mean = options.mean;
    info.std = options.std;
    // CIFAR's augmentation, the padding scaled with the side.
    info.augment = Augment::kPadCrop;
    info.crop_padding = options.image_side / 8;
  } else { // synthetic
    info.channels = options.synthetic_channels;
    info.side = options.synthetic_side;
    info.num_classes = options.synthetic_classes;
    info.mean.assign(static_cast<size_t>(info.channels), 0.5f);
    info.std.assign(static_cast<size_t>(info.channels), 0.25f);
    info.class_names = numbered_classes(info.num_classes);
    info.augment = Augment::kNone;
    info.crop_padding = 0;
  }
  return with_classes(std::move(info), options.classes);
}

} // namespace sdn::data
