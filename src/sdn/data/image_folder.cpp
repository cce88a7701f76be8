// Image folders: lists DIR/{train,val,test}/<class>/..., decodes the images
// on every core and keeps the decoded splits for the rest of the process.
#include "sdn/data/image_folder.h"

#include "sdn/data/class_names.h"
#include "sdn/data/image_decode.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/printable.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

namespace sdn::data {

namespace {

namespace fs = std::filesystem;

bool is_hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

bool is_image_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// The class folder names directly under `dir`, sorted by bytes.
std::vector<std::string> class_folders(const fs::path& dir) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  check(
      status.type() == fs::file_type::not_found || !ec,
      "cannot list ",
      dir.string(),
      ": ",
      ec.message());
  check(
      fs::exists(status),
      "missing folder ",
      dir.string(),
      " (an image folder holds train/<class>/ and test/<class>/)");
  check(
      fs::is_directory(status),
      dir.string(),
      ": not a folder (an image folder holds train/<class>/ and "
      "test/<class>/)");
  std::vector<std::string> names;
  // A class folder may be a link (followed, as torchvision's ImageFolder
  // does), but two classes must not be one folder: its images would carry
  // two labels.
  std::map<fs::path, fs::path> seen;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && !is_hidden(entry.path())) {
      check_class_name(entry.path().filename().string(), entry.path().string());
      const auto [other, fresh] =
          seen.emplace(fs::canonical(entry.path()), entry.path());
      check(
          fresh,
          printable_name(entry.path().string()),
          " and ",
          printable_name(other->second.string()),
          " are the same folder (a link): its images would belong to two "
          "classes");
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Adds the images of every class folder of `dir` to `files`.
void list_split(
    const fs::path& dir,
    const std::vector<std::string>& classes,
    ImageFiles& files,
    ImageFolderListing& listing) {
  for (size_t c = 0; c < classes.size(); ++c) {
    const fs::path class_dir = dir / classes[c];
    std::vector<std::string> paths;
    for (auto it = fs::recursive_directory_iterator(class_dir);
         it != fs::recursive_directory_iterator();
         ++it) {
      check(
          !has_control_character(it->path().filename().string()),
          printable_name(it->path().string()),
          ": a name with a control character (a newline, a tab...): rename "
          "it");
      // Hidden files and folders, and links to folders (not followed),
      // are skipped and counted.
      const bool folder = it->is_directory();
      const bool skipped =
          is_hidden(it->path()) || (folder && it->is_symlink());
      if (folder && (skipped || it->is_symlink())) {
        it.disable_recursion_pending();
      }
      if (skipped) {
        ++listing.skipped;
        if (listing.skipped_examples.size() < 3) {
          listing.skipped_examples.push_back(it->path().string());
        }
        continue;
      }
      if (folder) {
        continue;
      }
      if (it->is_regular_file() && is_image_name(it->path())) {
        paths.push_back(it->path().string());
      } else {
        ++listing.skipped;
        if (listing.skipped_examples.size() < 3) {
          listing.skipped_examples.push_back(it->path().string());
        }
      }
    }
    check(
        !paths.empty(),
        class_dir.string(),
        ": no images (expected *.jpg, *.jpeg or *.png files)");
    std::sort(paths.begin(), paths.end());
    for (auto& path : paths) {
      files.paths.push_back(std::move(path));
      files.labels.push_back(static_cast<int64_t>(c));
    }
  }
}

// Decoded splits of this process by content key (decode cache).
std::mutex cache_mutex;
std::map<std::string, torch::Tensor>& decoded_cache() {
  static std::map<std::string, torch::Tensor> cache;
  return cache;
}
// The folder whose splits decoded_cache holds.
std::string& cached_folder() {
  static std::string folder;
  return folder;
}

// What identifies a decoded split: channels, side and every file's path,
// size and modification time (the whole text: a checksum could collide).
std::string cache_key(const ImageFiles& files, int64_t channels, int64_t side) {
  std::string text =
      std::to_string(channels) + "x" + std::to_string(side) + "\n";
  for (const std::string& path : files.paths) {
    std::error_code error;
    const auto size = fs::file_size(path, error);
    const auto time = fs::last_write_time(path, error);
    text += path + '\0' + std::to_string(error ? 0 : size) + '\0' +
        std::to_string(time.time_since_epoch().count()) + '\n';
  }
  return text;
}

Dataset decode_split(
    const std::string& data_dir,
    const ImageFiles& files,
    const DatasetInfo& info,
    const std::string& label,
    bool show_progress) {
  const std::string key = cache_key(files, info.channels, info.side);
  // The splits of one folder at a time: another folder replaces them.
  std::error_code error;
  const std::string folder = fs::weakly_canonical(data_dir, error).string();
  {
    const std::lock_guard<std::mutex> lock(cache_mutex);
    const auto it = decoded_cache().find(key);
    if (it != decoded_cache().end()) {
      return Dataset{it->second, torch::tensor(files.labels, torch::kInt64)};
    }
  }
  torch::Tensor images = decode_image_files(
      files.paths,
      info.channels,
      info.side,
      ImageFit::kResizeCrop,
      label,
      show_progress);
  {
    const std::lock_guard<std::mutex> lock(cache_mutex);
    if (cached_folder() != folder) {
      decoded_cache().clear();
      cached_folder() = folder;
    }
    decoded_cache()[key] = images;
  }
  return Dataset{images, torch::tensor(files.labels, torch::kInt64)};
}

} // namespace

std::vector<std::string> image_folder_classes(const std::string& data_dir) {
  check(
      !data_dir.empty(),
      "--dataset folder needs --data-dir DIR: a folder holding "
      "train/<class>/ and test/<class>/ with the images");
  check_is_folder(data_dir, "--data-dir");
  const fs::path train = fs::path(data_dir) / "train";
  std::vector<std::string> classes;
  try {
    classes = class_folders(train);
  } catch (const fs::filesystem_error& e) {
    fail(
        "cannot list ",
        e.path1().empty() ? train.string() : e.path1().string(),
        ": ",
        e.code().message());
  }
  check(
      classes.size() >= 2,
      train.string(),
      ": ",
      classes.size(),
      " class folders, expected at least 2");
  return classes;
}

ImageFolderListing list_image_folder(const std::string& data_dir) {
  ImageFolderListing listing;
  listing.classes = image_folder_classes(data_dir);
  const fs::path root(data_dir);
  try {
    list_split(root / "train", listing.classes, listing.train, listing);
    check_same_class_names(
        class_folders(root / "test"),
        listing.classes,
        (root / "test").string(),
        "class folders",
        "those of train/");
    list_split(root / "test", listing.classes, listing.test, listing);
    listing.has_val = fs::exists(root / "val");
    if (listing.has_val) {
      check(
          fs::is_directory(root / "val"),
          (root / "val").string(),
          ": not a folder (val/, when present, holds the validation split's "
          "class folders)");
      check_same_class_names(
          class_folders(root / "val"),
          listing.classes,
          (root / "val").string(),
          "class folders",
          "those of train/");
      list_split(root / "val", listing.classes, listing.val, listing);
    }
  } catch (const fs::filesystem_error& e) {
    // A symbolic link loop, an unreadable folder: the path it concerns.
    fail(
        "cannot list ",
        e.path1().empty() ? data_dir : e.path1().string(),
        ": ",
        e.code().message());
  }
  return listing;
}

Splits read_image_folder_splits(
    const std::string& data_dir,
    const DatasetInfo& info,
    bool show_progress) {
  const ImageFolderListing listing = list_image_folder(data_dir);
  check_same_class_names(
      listing.classes,
      info.class_names,
      data_dir,
      "class folders",
      "the " + std::to_string(info.class_names.size()) +
          " classes recorded for this data");
  if (listing.skipped > 0) {
    std::string examples;
    for (const std::string& path : listing.skipped_examples) {
      examples += (examples.empty() ? "" : ", ") + path;
    }
    std::fprintf(
        stderr,
        "warning: %s: skipped %lld entries that are not regular files "
        "named as JPEG or PNG images (hidden entries, links to folders, "
        "other files; %s%s)\n",
        data_dir.c_str(),
        static_cast<long long>(listing.skipped),
        examples.c_str(),
        listing.skipped > 3 ? ", ..." : "");
  }
  Splits splits;
  splits.info = info;
  splits.train = decode_split(
      data_dir, listing.train, info, "train images", show_progress);
  splits.test =
      decode_split(data_dir, listing.test, info, "test images", show_progress);
  if (listing.has_val) {
    splits.val =
        decode_split(data_dir, listing.val, info, "val images", show_progress);
  }
  return splits;
}

} // namespace sdn::data
