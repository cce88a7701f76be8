#include "sdn/data/cifar.h"

#include "test_files.h"

#include <gtest/gtest.h>

using namespace sdn::data;
using namespace sdn::data::testing;

namespace {

// n CIFAR records; pixel bytes encode (record, position) for checking.
std::string cifar_records(
    const std::vector<std::vector<uint8_t>>& labels,
    int first_value) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    out.append(labels[i].begin(), labels[i].end());
    for (int p = 0; p < 3072; ++p) {
      out.push_back(static_cast<char>((first_value + i * 13 + p) % 256));
    }
  }
  return out;
}

DatasetInfo info_of(const std::string& name) {
  DataOptions options;
  options.name = name;
  return dataset_info(options);
}

} // namespace

TEST(Cifar, Cifar10FromParentAndFromFolder) {
  TempDir dir("cifar10");
  const std::string folder = dir.str("cifar-10-batches-bin");
  for (int b = 1; b <= 5; ++b) {
    write_bytes(
        folder + "/data_batch_" + std::to_string(b) + ".bin",
        cifar_records({{static_cast<uint8_t>(b)}, {9}}, b));
  }
  write_bytes(folder + "/test_batch.bin", cifar_records({{3}, {4}, {5}}, 0));
  for (const std::string& d : {dir.str(), folder}) {
    const Splits s = read_cifar_splits(d, info_of("cifar10"));
    ASSERT_EQ(s.train.images.sizes(), (torch::IntArrayRef{10, 3, 32, 32}));
    ASSERT_EQ(s.test.size(), 3);
    EXPECT_EQ(s.train.labels[0].item<int64_t>(), 1);
    EXPECT_EQ(s.train.labels[8].item<int64_t>(), 5);
    EXPECT_EQ(s.train.labels[9].item<int64_t>(), 9);
    EXPECT_EQ(s.test.labels[2].item<int64_t>(), 5);
    // Record 1 of batch 2: channel 1 (G), row 2, column 3 = byte 1024+67.
    EXPECT_EQ(
        s.train.images[3][1][2][3].item<int64_t>(), (2 + 13 + 1024 + 67) % 256);
  }
}

TEST(Cifar, Cifar100UsesTheFineLabel) {
  TempDir dir("cifar100");
  const std::string folder = dir.str("cifar-100-binary");
  write_bytes(folder + "/train.bin", cifar_records({{3, 77}, {19, 99}}, 0));
  write_bytes(folder + "/test.bin", cifar_records({{0, 42}}, 5));
  std::string names;
  for (int c = 0; c < 100; ++c) {
    names += "class" + std::to_string(c) + "\n";
  }
  write_bytes(folder + "/fine_label_names.txt", names);
  const Splits s = read_cifar_splits(dir.str(), info_of("cifar100"));
  EXPECT_EQ(s.info.class_names[42], "class42");
  EXPECT_EQ(s.train.labels[0].item<int64_t>(), 77);
  EXPECT_EQ(s.train.labels[1].item<int64_t>(), 99);
  EXPECT_EQ(s.test.labels[0].item<int64_t>(), 42);
  // Pixels start after both label bytes.
  EXPECT_EQ(s.test.images[0][0][0][0].item<int64_t>(), 5);
  EXPECT_EQ(s.train.images[1][2][31][31].item<int64_t>(), (13 + 3071) % 256);
}

TEST(Cifar, BadFiles) {
  TempDir dir("cifar_bad");
  CifarRecord record; // CIFAR-10
  const std::string path = dir.str("b.bin");
  std::string bytes = cifar_records({{1}, {2}}, 0);
  write_bytes(path, bytes.substr(0, bytes.size() - 100));
  EXPECT_SDN_ERROR(
      read_cifar_file(path, record), "b.bin", "not a multiple", "3073");
  write_bytes(path, cifar_records({{1}, {10}}, 0));
  EXPECT_SDN_ERROR(
      read_cifar_file(path, record), "b.bin", "label 10", "out of range");
  write_bytes(path, "");
  EXPECT_SDN_ERROR(read_cifar_file(path, record), "b.bin", "empty");
  EXPECT_SDN_ERROR(
      read_cifar_splits(dir.str(), info_of("cifar10")),
      "missing folder",
      "cifar-10-batches-bin");
  EXPECT_SDN_ERROR(read_cifar_splits("", info_of("cifar100")), "--data-dir");
  // A folder with batch 1 only: names the first missing file.
  write_bytes(dir.str("data_batch_1.bin"), cifar_records({{1}}, 0));
  EXPECT_SDN_ERROR(
      read_cifar_splits(dir.str(), info_of("cifar10")),
      "missing file",
      "data_batch_2.bin");
}
