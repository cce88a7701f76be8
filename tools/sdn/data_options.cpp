#include "data_options.h"
#include "option_checks.h"

#include "sdn/data/idx.h"
#include "sdn/util/error.h"

#include <filesystem>

namespace sdn::cli {

namespace {

// The --classes value(s) ("0,2,4", or the items of a TOML array) as class
// numbers: every comma-separated item a plain decimal number.
std::vector<int64_t> class_list(const std::vector<std::string>& items) {
  std::vector<int64_t> classes;
  for (const std::string& item : items) {
    size_t at = 0;
    while (true) {
      const size_t comma = item.find(',', at);
      const std::string piece = item.substr(
          at, comma == std::string::npos ? std::string::npos : comma - at);
      check(
          !piece.empty() && piece.size() <= 9 &&
              piece.find_first_not_of("0123456789") == std::string::npos,
          "--classes: expected class numbers separated by commas (e.g. "
          "0,2,4), got '",
          item,
          "'");
      classes.push_back(std::stoll(piece));
      if (comma == std::string::npos) {
        break;
      }
      at = comma + 1;
    }
  }
  return classes;
}

} // namespace

void add_data_options(CLI::App* sub, data::DataOptions& options) {
  std::string names;
  for (const auto& n : data::dataset_names()) {
    names += (names.empty() ? "" : ", ") + n;
  }
  sub->add_option("--dataset", options.name, "Data set: " + names)
      ->capture_default_str();
  sub->add_option(
      "--data-dir",
      options.data_dir,
      "Folder holding the data set's files or folder (cifar-10-batches-bin, "
      "cifar-100-binary, tiny-imagenet-200), or that folder itself; for "
      "--dataset folder the folder with train/<class>/, test/<class>/ and "
      "optionally val/<class>/. Default for fashion-mnist: " +
          std::string(data::kFashionMnistDir));
  sub->add_option(
         "--val-size",
         options.val_size,
         "Validation samples held out of the training set (0: none)")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option(
         "--train-subset",
         options.train_subset,
         "Keep only this many training samples (0: all)")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option_function<std::vector<std::string>>(
         "--classes",
         [&options](const std::vector<std::string>& items) {
           options.classes = class_list(items);
         },
         "Keep only these classes (the data set's labels, comma-separated), "
         "relabelled 0..K'-1 in list order; the others are held out "
         "(sdn eval --ood-source held-out-classes)")
      ->type_name("LIST");
  sub->add_option(
         "--data-seed",
         options.seed,
         "Seed of the validation split and of the synthetic data")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option(
         "--synthetic-train",
         options.synthetic_train,
         "Synthetic data: training samples")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option(
         "--synthetic-test",
         options.synthetic_test,
         "Synthetic data: test samples")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option(
         "--synthetic-classes",
         options.synthetic_classes,
         "Synthetic data: classes")
      ->capture_default_str()
      ->check(at_least(2));
  sub->add_option(
         "--synthetic-channels",
         options.synthetic_channels,
         "Synthetic data: channels (1 or 3)")
      ->capture_default_str()
      ->check(in_range(1, 3));
  sub->add_option(
         "--synthetic-side",
         options.synthetic_side,
         "Synthetic data: image side (32 or 64)")
      ->capture_default_str()
      ->check(in_range(32, 64));
  sub->add_option(
         "--image-side",
         options.image_side,
         "Image folder: side the images are resized to (32 or 64)")
      ->capture_default_str()
      ->check(in_range(32, 64));
  sub->add_option(
         "--channels",
         options.image_channels,
         "Image folder: 3 (RGB; greyscale repeated) or 1 (luma)")
      ->capture_default_str()
      ->check(in_range(1, 3));
  sub->add_option(
         "--mean",
         options.mean,
         "Image folder: per-channel mean of pixels in [0,1], comma-separated "
         "(default: computed on the training split)")
      ->delimiter(',')
      ->type_name("LIST")
      // Checked as typed (read as float32, 1e308 would become inf); the
      // data set checks the rest (at least 1e-6 for --std, one per channel).
      ->check(in_range(-1e3, 1e3));
  sub->add_option(
         "--std",
         options.std,
         "Image folder: per-channel std, comma-separated, with --mean "
         "(default: computed on the training split)")
      ->delimiter(',')
      ->type_name("LIST")
      ->check(in_interval(0, 1e3, Bound::kOpen, Bound::kClosed));
  options.show_progress = true;
}

void check_data_options(const CLI::App& sub, const data::DataOptions& options) {
  const bool val_folder = options.name == "folder" &&
      !options.data_dir.empty() &&
      std::filesystem::is_directory(
                              std::filesystem::path(options.data_dir) / "val");
  // The data seed draws the validation split, the --train-subset and the
  // synthetic images: without any of them it changes nothing.
  if (options.name != "synthetic" && options.train_subset == 0 &&
      (options.val_size == 0 || val_folder)) {
    reject_given(
        sub,
        {"--data-seed"},
        val_folder ? "with " + options.data_dir +
                "/val/ and without --train-subset (nothing is drawn at "
                "random)" :
                     std::string("with --val-size 0 and without --train-subset "
                                 "(nothing is drawn at random)"));
  }
  if (options.name != "folder") {
    reject_given(
        sub,
        {"--image-side", "--channels", "--mean", "--std"},
        "unless --dataset folder (the data set is " + options.name + ")");
  } else if (val_folder) {
    reject_given(
        sub,
        {"--val-size"},
        "with " + options.data_dir + "/val/ (it is the validation split)");
  }
  if (options.name == "synthetic") {
    reject_given(
        sub, {"--data-dir"}, "with --dataset synthetic (made in memory)");
    return;
  }
  reject_given(
      sub,
      {"--synthetic-train",
       "--synthetic-test",
       "--synthetic-classes",
       "--synthetic-channels",
       "--synthetic-side"},
      "unless --dataset synthetic (the data set is " + options.name + ")");
}

} // namespace sdn::cli
