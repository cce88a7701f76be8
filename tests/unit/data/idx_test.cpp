#include "sdn/data/idx.h"

#include "sdn/data/stats.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace sdn::data;
using namespace sdn::data::testing;

namespace {

uint8_t pixel_of(uint32_t i, uint32_t y, uint32_t x) {
  return static_cast<uint8_t>(1 + (i * 7 + y * 3 + x) % 250);
}

DatasetInfo fashion_info() {
  DataOptions options;
  options.name = "fashion-mnist";
  return dataset_info(options);
}

// Writes a small MNIST-style folder: 6 train and 4 test images (gzip).
void write_idx_folder(const std::string& dir, bool gz) {
  auto put = gz ? write_gzip : write_bytes;
  put(dir + "/train-images-idx3-ubyte" + (gz ? ".gz" : ""),
      idx_images(6, 28, 28, pixel_of));
  put(dir + "/train-labels-idx1-ubyte" + (gz ? ".gz" : ""),
      idx_labels({0, 1, 2, 3, 4, 9}));
  put(dir + "/t10k-images-idx3-ubyte" + (gz ? ".gz" : ""),
      idx_images(4, 28, 28, pixel_of));
  put(dir + "/t10k-labels-idx1-ubyte" + (gz ? ".gz" : ""),
      idx_labels({5, 6, 7, 8}));
}

} // namespace

TEST(Idx, ReadsGzipAndPadsTo32) {
  TempDir dir("idx_gz");
  write_idx_folder(dir.str(), /*gz=*/true);
  const Splits s = read_idx_splits(dir.str(), fashion_info());
  ASSERT_EQ(s.train.images.sizes(), (torch::IntArrayRef{6, 1, 32, 32}));
  ASSERT_EQ(s.test.images.sizes(), (torch::IntArrayRef{4, 1, 32, 32}));
  EXPECT_EQ(s.train.labels[5].item<int64_t>(), 9);
  EXPECT_EQ(s.test.labels[0].item<int64_t>(), 5);
  const auto img = s.train.images[3][0];
  // A 2-pixel zero border on each side, the 28x28 image centred.
  EXPECT_EQ(img.slice(0, 0, 2).sum().item<int64_t>(), 0);
  EXPECT_EQ(img.slice(0, 30, 32).sum().item<int64_t>(), 0);
  EXPECT_EQ(img.slice(1, 0, 2).sum().item<int64_t>(), 0);
  EXPECT_EQ(img.slice(1, 30, 32).sum().item<int64_t>(), 0);
  for (uint32_t y : {0u, 13u, 27u}) {
    for (uint32_t x : {0u, 5u, 27u}) {
      EXPECT_EQ(img[y + 2][x + 2].item<int64_t>(), pixel_of(3, y, x));
    }
  }
}

TEST(Idx, ReadsPlainFilesAndParentFolder) {
  TempDir dir("idx_plain");
  write_idx_folder(dir.str("mnist"), /*gz=*/false);
  DataOptions options;
  options.name = "mnist";
  options.data_dir = dir.str(); // the parent of mnist/
  options.val_size = 0;
  const Splits s = load_splits(options);
  EXPECT_EQ(s.train.size(), 6);
  EXPECT_EQ(s.test.size(), 4);
  EXPECT_EQ(s.val.size(), 0);
}

TEST(Idx, MnistHasNoDefaultLocation) {
  DataOptions options;
  options.name = "mnist";
  EXPECT_SDN_ERROR(load_splits(options), "mnist", "--data-dir");
}

TEST(Idx, BadFilesNameTheFileAndTheProblem) {
  TempDir dir("idx_bad");
  const std::string images = dir.str("images");
  const std::string labels = dir.str("labels");
  // Wrong magic: a label file read as images.
  write_bytes(images, idx_labels({1, 2}));
  EXPECT_SDN_ERROR(read_idx_images(images, 32), "images", "wrong IDX magic");
  // Truncated: header promises 3 images, only 2.5 follow.
  std::string bytes = idx_images(3, 28, 28, pixel_of);
  write_gzip(images, bytes.substr(0, bytes.size() - 392));
  EXPECT_SDN_ERROR(read_idx_images(images, 32), "images", "truncated");
  // Dimensions whose product overflows 64 bits (found by
  // fuzz/idx_images.cpp), and a zero among huge ones.
  auto header = [](uint32_t n, uint32_t rows, uint32_t cols) {
    std::string out;
    for (const uint32_t v : {2051U, n, rows, cols}) {
      put_be32(out, v);
    }
    return out;
  };
  write_bytes(images, header(0xffffffffU, 0xffffffffU, 0xffffffffU));
  EXPECT_SDN_ERROR(
      read_idx_images(images, 32), "images", "header dimensions overflow");
  write_bytes(images, header(0, 0xffffffffU, 0xffffffffU));
  EXPECT_SDN_ERROR(read_idx_images(images, 32), "images", "larger than");
  // 2^32 - 1 empty images: 16 bytes must not allocate 4 TB of padding.
  write_bytes(images, header(0xffffffffU, 28, 0));
  EXPECT_SDN_ERROR(
      read_idx_images(images, 32), "images", "28x0, smaller than half");
  // A gzip stream cut short.
  write_gzip(images, bytes);
  std::string gz = sdn::read_file(images);
  write_bytes(images, gz.substr(0, gz.size() / 2));
  EXPECT_SDN_ERROR(read_idx_images(images, 32), "images", "gzip");
  // Trailing bytes.
  write_bytes(images, bytes + "xyz");
  EXPECT_SDN_ERROR(read_idx_images(images, 32), "images", "unexpected bytes");
  // Images larger than the target side.
  write_bytes(images, idx_images(1, 40, 40, pixel_of));
  EXPECT_SDN_ERROR(read_idx_images(images, 32), "images", "larger than");
  // Label out of range.
  write_bytes(labels, idx_labels({1, 10}));
  EXPECT_SDN_ERROR(read_idx_labels(labels, 10), "labels", "out of range");
  // Missing file.
  EXPECT_SDN_ERROR(
      read_idx_labels(dir.str("nothing"), 10), "missing file", "nothing");
}

// Big-endian IDX header: magic, then each dimension.
std::string idx_header(uint32_t magic, const std::vector<uint32_t>& dims) {
  std::string out;
  for (uint32_t v : [&] {
         std::vector<uint32_t> all{magic};
         all.insert(all.end(), dims.begin(), dims.end());
         return all;
       }()) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((v >> shift) & 0xff));
    }
  }
  return out;
}

TEST(Idx, HeadersAreUntrusted) {
  TempDir dir("idx_header");
  const std::string images = dir.str("images");
  // 36 bytes declaring 2^20 images of 0x0 pixels: refused before anything
  // the size of 2^20 images is allocated.
  write_bytes(images, idx_header(2051, {1u << 20, 0, 0}) + std::string(20, 0));
  EXPECT_SDN_ERROR(read_idx_images(images, 32), "images", "unexpected bytes");
  write_bytes(images, idx_header(2051, {1u << 20, 0, 0}));
  EXPECT_SDN_ERROR(read_idx_images(images, 32), "images", "smaller than half");
  // Dimensions whose product overflows 64 bits.
  write_bytes(
      images, idx_header(2051, {0xffffffffu, 0xffffffffu, 0xffffffffu}));
  EXPECT_SDN_ERROR(read_idx_images(images, 32), "images", "overflow");
  // A gzip bomb: a header for one 28x28 image, then 64 MiB of zeros that
  // compress to a few KiB; refused while decompressing, at the header's size.
  write_gzip(
      images,
      idx_header(2051, {1, 28, 28}) + std::string(size_t{64} << 20, '\0'));
  EXPECT_LT(std::filesystem::file_size(images), 1u << 20);
  EXPECT_SDN_ERROR(
      read_idx_images(images, 32), "images", "more than the 800 bytes");
  // One gzip member, then a second member or garbage: refused, not dropped.
  write_gzip(images, idx_header(2049, {1}) + std::string(1, '\1'));
  const std::string member = sdn::read_file(images);
  write_bytes(images, member + member);
  EXPECT_SDN_ERROR(
      read_idx_labels(images, 10), "images", "bytes after the end of the gzip");
  write_bytes(images, member + "xyz");
  EXPECT_SDN_ERROR(
      read_idx_labels(images, 10),
      "images",
      "3 bytes after the end of the gzip");
  // Labels: 2^32-1 declared, 3 present.
  write_bytes(images, idx_header(2049, {0xffffffffu}) + "abc");
  EXPECT_SDN_ERROR(read_idx_labels(images, 10), "images", "truncated");
}

TEST(Idx, CountMismatchAndMissingFiles) {
  TempDir dir("idx_mismatch");
  write_idx_folder(dir.str(), /*gz=*/true);
  write_gzip(dir.str("t10k-labels-idx1-ubyte.gz"), idx_labels({1, 2, 3}));
  EXPECT_SDN_ERROR(
      read_idx_splits(dir.str(), fashion_info()),
      "t10k-images",
      "4 images",
      "3 labels");
  std::filesystem::remove(dir.str("t10k-labels-idx1-ubyte.gz"));
  EXPECT_SDN_ERROR(
      read_idx_splits(dir.str(), fashion_info()),
      "missing file",
      "t10k-labels-idx1-ubyte");
  EXPECT_SDN_ERROR(
      read_idx_splits(dir.str("nowhere"), fashion_info()),
      "--data-dir",
      "nowhere: no such folder");
  // A file where the folder should be says so.
  write_bytes(dir.str("a-file"), "x");
  EXPECT_SDN_ERROR(
      read_idx_splits(dir.str("a-file"), fashion_info()),
      "a-file: not a folder (found a regular file)");
}

TEST(Idx, RealFashionMnist) {
  if (!std::filesystem::exists(kFashionMnistDir)) {
    GTEST_SKIP() << kFashionMnistDir << " not installed";
  }
  DataOptions options; // fashion-mnist from its default location
  options.val_size = 0;
  const Splits s = load_splits(options);
  ASSERT_EQ(s.train.size(), 60000);
  ASSERT_EQ(s.test.size(), 10000);
  const auto train = split_stats(s.train, 10);
  const auto test = split_stats(s.test, 10);
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(train.label_counts[c], 6000);
    EXPECT_EQ(test.label_counts[c], 1000);
  }
  // dataset_info's constants are those of the padded training images.
  EXPECT_NEAR(train.mean[0], s.info.mean[0], 5e-4);
  EXPECT_NEAR(train.std[0], s.info.std[0], 5e-4);
}
