// Tiny ImageNet reader: lists the JPEG tree, then decodes it on every core
// (data/image_decode.h).
#include "sdn/data/tiny_imagenet.h"

#include "sdn/data/class_names.h"
#include "sdn/data/image_decode.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace sdn::data {

namespace {

namespace fs = std::filesystem;

// The non-empty lines of `text`, without a trailing '\r'.
std::vector<std::string> split_lines(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  return lines;
}

std::string read_text(const std::string& path) {
  check(fs::exists(path), "missing file ", path);
  return read_file(path);
}

bool is_jpeg_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return ext == ".jpeg" || ext == ".jpg";
}

struct FileList {
  std::vector<std::string> paths;
  std::vector<int64_t> labels;
};

// The files' images (3 x side x side each, as stored) and labels.
Dataset decode(
    const FileList& files,
    int64_t side,
    const std::string& label,
    bool show_progress) {
  return Dataset{
      decode_image_files(
          files.paths, 3, side, ImageFit::kExact, label, show_progress),
      torch::tensor(files.labels, torch::kInt64)};
}

fs::path tiny_imagenet_root(const std::string& data_dir) {
  check(
      !data_dir.empty(),
      "tiny-imagenet needs --data-dir: the folder holding tiny-imagenet-200 "
      "or that folder itself");
  check_is_folder(data_dir, "--data-dir");
  fs::path root = fs::path(data_dir) / "tiny-imagenet-200";
  if (!fs::is_directory(root)) {
    check(
        fs::exists(fs::path(data_dir) / "wnids.txt"),
        "missing folder ",
        root.string(),
        " (and ",
        data_dir,
        " holds no wnids.txt)");
    root = data_dir;
  }
  return root;
}

} // namespace

std::vector<std::string> parse_wnids(
    const std::string& text,
    const std::string& path) {
  std::vector<std::string> wnids = split_lines(text);
  for (const std::string& wnid : wnids) {
    check_class_name(wnid, path);
  }
  std::sort(wnids.begin(), wnids.end());
  const auto duplicate = std::adjacent_find(wnids.begin(), wnids.end());
  if (duplicate != wnids.end()) {
    fail(path, ": duplicate wnid '", *duplicate, "'");
  }
  return wnids;
}

std::vector<ValAnnotation> parse_val_annotations(
    const std::string& text,
    const std::vector<std::string>& wnids,
    const std::string& path) {
  const auto lines = split_lines(text);
  check(!lines.empty(), path, ": no annotations");
  std::vector<ValAnnotation> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const size_t tab1 = line.find('\t');
    check(
        tab1 != std::string::npos && tab1 > 0,
        path,
        " line ",
        i + 1,
        ": expected file<TAB>wnid, got '",
        line,
        "'");
    const size_t tab2 = line.find('\t', tab1 + 1);
    const std::string wnid = line.substr(
        tab1 + 1, tab2 == std::string::npos ? tab2 : tab2 - tab1 - 1);
    const auto it = std::lower_bound(wnids.begin(), wnids.end(), wnid);
    check(
        it != wnids.end() && *it == wnid,
        path,
        " line ",
        i + 1,
        ": unknown wnid '",
        wnid,
        "'");
    out.push_back(ValAnnotation{line.substr(0, tab1), it - wnids.begin()});
  }
  return out;
}

std::vector<std::string> read_tiny_imagenet_wnids(const std::string& data_dir) {
  const std::string path =
      (tiny_imagenet_root(data_dir) / "wnids.txt").string();
  const std::vector<std::string> wnids = parse_wnids(read_text(path), path);
  check(
      wnids.size() >= 2,
      path,
      ": ",
      wnids.size(),
      " wnids, expected at least 2");
  return wnids;
}

Splits read_tiny_imagenet_splits(
    const std::string& data_dir,
    const DatasetInfo& info,
    bool show_progress) {
  const fs::path root = tiny_imagenet_root(data_dir);
  const std::string wnids_path = (root / "wnids.txt").string();
  const std::vector<std::string> wnids = read_tiny_imagenet_wnids(data_dir);
  check_same_class_names(
      wnids,
      info.class_names,
      wnids_path,
      "wnids",
      "the " + std::to_string(info.class_names.size()) +
          " classes recorded for this data");

  FileList train;
  for (size_t c = 0; c < wnids.size(); ++c) {
    const fs::path dir = root / "train" / wnids[c] / "images";
    check(fs::is_directory(dir), "missing folder ", dir.string());
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file() && is_jpeg_name(entry.path())) {
        names.push_back(entry.path().string());
      }
    }
    check(!names.empty(), dir.string(), ": no JPEG images");
    std::sort(names.begin(), names.end());
    for (auto& name : names) {
      train.paths.push_back(std::move(name));
      train.labels.push_back(static_cast<int64_t>(c));
    }
  }

  FileList test;
  const std::string annotations =
      (root / "val" / "val_annotations.txt").string();
  for (const ValAnnotation& a :
       parse_val_annotations(read_text(annotations), wnids, annotations)) {
    fs::path path = root / "val" / "images" / a.file;
    const fs::path moved =
        root / "val" / "images" / wnids[static_cast<size_t>(a.label)] / a.file;
    if (!fs::exists(path) && fs::exists(moved)) {
      path = moved;
    }
    test.paths.push_back(path.string());
    test.labels.push_back(a.label);
  }

  Splits splits;
  splits.info = info;
  splits.info.class_names = wnids;
  splits.train = decode(train, info.side, "tiny-imagenet train", show_progress);
  splits.test = decode(test, info.side, "tiny-imagenet val", show_progress);
  return splits;
}

} // namespace sdn::data
