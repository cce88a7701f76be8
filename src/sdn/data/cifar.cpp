// CIFAR binary reader: fixed-size records, label byte(s) then CHW pixels.
#include "sdn/data/cifar.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace sdn::data {

namespace {

namespace fs = std::filesystem;

// CIFAR images are 32x32 RGB stored as three 1024-byte planes.
constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarPixels = 3 * kCifarSide * kCifarSide;

Dataset concat(const std::vector<Dataset>& parts) {
  std::vector<torch::Tensor> images, labels;
  for (const auto& part : parts) {
    images.push_back(part.images);
    labels.push_back(part.labels);
  }
  return Dataset{torch::cat(images), torch::cat(labels)};
}

} // namespace

Dataset read_cifar_file(const std::string& path, const CifarRecord& record) {
  check(fs::exists(path), "missing file ", path);
  const std::string bytes = read_file(path);
  const int64_t record_size = record.label_bytes + kCifarPixels;
  const auto size = static_cast<int64_t>(bytes.size());
  check(size > 0, path, ": empty file");
  check(
      size % record_size == 0,
      path,
      ": size ",
      size,
      " is not a multiple of the record size ",
      record_size,
      " (truncated or not a CIFAR ",
      record.label_bytes == 1 ? "10" : "100",
      " binary file)");
  const int64_t n = size / record_size;
  Dataset out;
  out.images = torch::empty({n, 3, kCifarSide, kCifarSide}, torch::kUInt8);
  out.labels = torch::empty({n}, torch::kInt64);
  auto* images = out.images.data_ptr<uint8_t>();
  auto* labels = out.labels.data_ptr<int64_t>();
  const auto* in = reinterpret_cast<const uint8_t*>(bytes.data());
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* rec = in + i * record_size;
    const int64_t label = rec[record.label_index];
    check(
        label < record.num_classes,
        path,
        ": label ",
        label,
        " of record ",
        i,
        " is out of range [0, ",
        record.num_classes,
        ")");
    labels[i] = label;
    std::memcpy(
        images + i * kCifarPixels,
        rec + record.label_bytes,
        static_cast<size_t>(kCifarPixels));
  }
  return out;
}

Splits read_cifar_splits(const std::string& data_dir, const DatasetInfo& info) {
  const bool cifar10 = info.name == "cifar10";
  const std::string folder =
      cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary";
  const std::string marker = cifar10 ? "data_batch_1.bin" : "train.bin";
  check(
      !data_dir.empty(),
      info.name,
      " needs --data-dir: the folder holding ",
      folder,
      " or that folder itself");
  check_is_folder(data_dir, "--data-dir");
  fs::path dir = fs::path(data_dir) / folder;
  if (!fs::is_directory(dir)) {
    check(
        fs::exists(fs::path(data_dir) / marker),
        "missing folder ",
        dir.string(),
        " (and ",
        data_dir,
        " holds no ",
        marker,
        ")");
    dir = data_dir;
  }
  CifarRecord record;
  record.num_classes = info.num_classes;
  if (!cifar10) {
    record.label_bytes = 2;
    record.label_index = 1;
  }
  Splits splits;
  splits.info = info;
  // The archives ship their class names; use them when present.
  const fs::path names_file =
      dir / (cifar10 ? "batches.meta.txt" : "fine_label_names.txt");
  if (fs::exists(names_file)) {
    std::istringstream in(read_file(names_file.string()));
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() &&
             std::isspace(static_cast<unsigned char>(line.back()))) {
        line.pop_back();
      }
      if (!line.empty()) {
        names.push_back(line);
      }
    }
    if (static_cast<int64_t>(names.size()) == info.num_classes) {
      splits.info.class_names = names;
    }
  }
  if (cifar10) {
    std::vector<Dataset> parts;
    for (int b = 1; b <= 5; ++b) {
      parts.push_back(read_cifar_file(
          (dir / ("data_batch_" + std::to_string(b) + ".bin")).string(),
          record));
    }
    splits.train = concat(parts);
    splits.test = read_cifar_file((dir / "test_batch.bin").string(), record);
  } else {
    splits.train = read_cifar_file((dir / "train.bin").string(), record);
    splits.test = read_cifar_file((dir / "test.bin").string(), record);
  }
  return splits;
}

} // namespace sdn::data
