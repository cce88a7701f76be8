#include "sdn/data/tiny_imagenet.h"

#include "sdn/data/image_decode.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace sdn::data;
using namespace sdn::data::testing;

namespace {

constexpr int kSide = 64;

// The info of the 3-class tree below (its wnids), or of the whole data set
// (200 classes, as dataset_info gives without a folder to read).
DatasetInfo tiny_info(int64_t classes) {
  DataOptions options;
  options.name = "tiny-imagenet";
  if (classes == 3) {
    options.class_names = {"n01", "n02", "n03"};
  }
  DatasetInfo info = dataset_info(options);
  EXPECT_EQ(info.num_classes, classes);
  return info;
}

// Three classes listed unsorted; class c's train images are flat colours,
// one of them greyscale. Val: one image per class, listed out of order.
void write_tree(const std::string& root) {
  write_bytes(root + "/wnids.txt", "n03\nn01\nn02\n");
  const std::vector<std::string> sorted = {"n01", "n02", "n03"};
  for (int c = 0; c < 3; ++c) {
    const std::string dir = root + "/train/" + sorted[c] + "/images/";
    const auto v = static_cast<uint8_t>(40 + 80 * c);
    write_bytes(
        dir + sorted[c] + "_0.JPEG",
        encode_jpeg(flat_image(kSide, 3, {v, 20, 200}), kSide, kSide, 3));
    write_bytes(
        dir + sorted[c] + "_1.JPEG",
        encode_jpeg(flat_image(kSide, 1, {v}), kSide, kSide, 1));
    write_bytes(
        root + "/train/" + sorted[c] + "/" + sorted[c] + "_boxes.txt",
        "ignored\n");
    write_bytes(
        root + "/val/images/val_" + std::to_string(c) + ".JPEG",
        encode_jpeg(flat_image(kSide, 3, {v, v, v}), kSide, kSide, 3));
  }
  write_bytes(
      root + "/val/val_annotations.txt",
      "val_2.JPEG\tn03\t0\t0\t10\t10\n"
      "val_0.JPEG\tn01\t1\t2\t3\t4\n"
      "val_1.JPEG\tn02\t1\t2\t3\t4\n");
}

} // namespace

TEST(TinyImagenet, ReadsTreeWithSortedClassesAndGreyscale) {
  TempDir dir("tiny");
  write_tree(dir.str("tiny-imagenet-200"));
  for (const std::string& d : {dir.str(), dir.str("tiny-imagenet-200")}) {
    const Splits s = read_tiny_imagenet_splits(d, tiny_info(3), false);
    EXPECT_EQ(
        s.info.class_names, (std::vector<std::string>{"n01", "n02", "n03"}));
    ASSERT_EQ(s.train.images.sizes(), (torch::IntArrayRef{6, 3, 64, 64}));
    ASSERT_EQ(s.test.size(), 3);
    for (int i = 0; i < 6; ++i) {
      EXPECT_EQ(s.train.labels[i].item<int64_t>(), i / 2);
      const int v = 40 + 80 * (i / 2);
      const auto img = s.train.images[i].to(torch::kInt32);
      EXPECT_NEAR(img[0][10][10].item<int>(), v, 3);
      if (i % 2 == 1) { // greyscale: replicated to three equal channels
        EXPECT_TRUE(torch::equal(img[0], img[1]));
        EXPECT_TRUE(torch::equal(img[0], img[2]));
      } else {
        EXPECT_NEAR(img[1][5][5].item<int>(), 20, 3);
        EXPECT_NEAR(img[2][60][3].item<int>(), 200, 3);
      }
    }
    // Test labels follow the annotation lines, indices of the sorted wnids.
    EXPECT_EQ(s.test.labels[0].item<int64_t>(), 2);
    EXPECT_EQ(s.test.labels[1].item<int64_t>(), 0);
    EXPECT_NEAR(s.test.images[0][0][7][7].item<int>(), 200, 3);
  }
}

TEST(TinyImagenet, AnyNumberOfWnidsAreItsClassesAndAreRecorded) {
  TempDir dir("tiny_subset");
  write_tree(dir.str("tiny-imagenet-200"));
  DataOptions options;
  options.name = "tiny-imagenet";
  options.data_dir = dir.str();
  options.val_size = 0;
  EXPECT_EQ(dataset_info(options).num_classes, 3);
  const Splits s = load_splits(options);
  EXPECT_EQ(s.info.num_classes, 3);
  EXPECT_EQ(
      s.options.class_names, (std::vector<std::string>{"n01", "n02", "n03"}));
  // Recorded, the classes need no folder; a folder with other wnids is
  // refused.
  DataOptions moved = s.options;
  moved.data_dir = dir.str("gone");
  EXPECT_EQ(dataset_info(moved).class_names, s.options.class_names);
  write_bytes(dir.str("tiny-imagenet-200/wnids.txt"), "n01\nn02\n");
  EXPECT_SDN_ERROR(
      load_splits(s.options),
      "wnids.txt",
      "its 2 wnids differ from the 3 classes recorded for this data (missing 'n03')");
}

TEST(TinyImagenet, AcceptsReorganisedValFolder) {
  TempDir dir("tiny_moved");
  const std::string root = dir.str("tiny-imagenet-200");
  write_tree(root);
  std::filesystem::create_directories(root + "/val/images/n01");
  std::filesystem::rename(
      root + "/val/images/val_0.JPEG", root + "/val/images/n01/val_0.JPEG");
  const Splits s = read_tiny_imagenet_splits(root, tiny_info(3), false);
  EXPECT_EQ(s.test.size(), 3);
}

TEST(TinyImagenet, BadTrees) {
  TempDir dir("tiny_bad");
  const std::string root = dir.str("tiny-imagenet-200");
  write_tree(root);
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(200), false),
      "wnids.txt",
      "its 3 wnids differ from the 200 classes recorded");
  // Not an image; an undecodable JPEG: libjpeg's error must not exit the
  // process.
  write_bytes(root + "/val/images/val_1.JPEG", "not a jpeg at all");
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(3), false),
      "val_1.JPEG",
      "not a JPEG or PNG");
  write_bytes(root + "/val/images/val_1.JPEG", "\xff\xd8\xff but no more");
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(3), false),
      "val_1.JPEG",
      "undecodable JPEG");
  // Truncated JPEGs: in the header, and in the middle of the scan.
  std::vector<uint8_t> noisy(kSide * kSide * 3);
  for (size_t i = 0; i < noisy.size(); ++i) {
    noisy[i] = static_cast<uint8_t>((i * 7919) % 251);
  }
  const std::string jpeg = encode_jpeg(noisy, kSide, kSide, 3);
  write_bytes(root + "/val/images/val_1.JPEG", jpeg.substr(0, 20));
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(3), false), "val_1.JPEG");
  write_bytes(root + "/val/images/val_1.JPEG", jpeg.substr(0, jpeg.size() / 2));
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(3), false),
      "val_1.JPEG",
      "truncated");
  // Wrong size.
  write_bytes(
      root + "/val/images/val_1.JPEG",
      encode_jpeg(flat_image(32, 3, {1, 2, 3}), 32, 32, 3));
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(3), false),
      "val_1.JPEG",
      "32x32, expected 64x64");
  // Missing image named by the annotations.
  std::filesystem::remove(root + "/val/images/val_1.JPEG");
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(3), false),
      "missing file",
      "val_1.JPEG");
  // Unknown wnid in the annotations.
  write_bytes(root + "/val/val_annotations.txt", "val_0.JPEG\tn99\n");
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(3), false),
      "val_annotations.txt line 1",
      "n99");
  write_bytes(root + "/val/val_annotations.txt", "no tab here\n");
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(3), false),
      "val_annotations.txt line 1");
  // Missing annotation file, missing class folder, missing root.
  std::filesystem::remove(root + "/val/val_annotations.txt");
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(3), false),
      "missing file",
      "val_annotations.txt");
  std::filesystem::remove_all(root + "/train/n02");
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(root, tiny_info(3), false),
      "missing folder",
      "n02");
  EXPECT_SDN_ERROR(
      read_tiny_imagenet_splits(dir.str("x"), tiny_info(3), false),
      "no such folder");
}

TEST(TinyImagenet, DecodeJpegDirectly) {
  std::vector<uint8_t> out(3 * 8 * 8);
  const std::string jpeg = encode_jpeg(flat_image(8, 1, {128}), 8, 8, 1);
  decode_jpeg_rgb(jpeg, "x.jpg", 8, out.data());
  for (uint8_t v : out) {
    EXPECT_NEAR(v, 128, 2);
  }
  EXPECT_SDN_ERROR(
      decode_jpeg_rgb(std::string(10, '\xff'), "y.jpg", 8, out.data()),
      "y.jpg");
  // A header claiming 65000 x 65000 is refused before libjpeg allocates for
  // it (a progressive one would ask for gigabytes: fuzz/regressions/jpeg/).
  std::string huge = jpeg;
  const size_t sof = huge.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  huge.replace(sof + 5, 4, "\xfd\xe8\xfd\xe8");
  EXPECT_SDN_ERROR(
      decode_jpeg_rgb(huge, "z.jpg", 8, out.data()),
      "z.jpg",
      "65000x65000, expected 8x8");
}

TEST(TinyImagenet, ParsesWnidsAndValAnnotations) {
  const auto wnids = parse_wnids("n03\r\nn01\n\nn02\n", "w.txt");
  EXPECT_EQ(wnids, (std::vector<std::string>{"n01", "n02", "n03"}));
  const auto annotations = parse_val_annotations(
      "a.JPEG\tn02\t1\t2\t3\t4\r\n\nb.JPEG\tn01\n", wnids, "v.txt");
  ASSERT_EQ(annotations.size(), 2U);
  EXPECT_EQ(annotations[0].file, "a.JPEG");
  EXPECT_EQ(annotations[0].label, 1);
  EXPECT_EQ(annotations[1].file, "b.JPEG");
  EXPECT_EQ(annotations[1].label, 0);
  EXPECT_SDN_ERROR(
      parse_wnids("n01\nn02\nn01\n", "w.txt"), "w.txt", "duplicate wnid 'n01'");
  EXPECT_SDN_ERROR(
      parse_val_annotations("\n\r\n", wnids, "v.txt"), "v.txt: no annotations");
  EXPECT_SDN_ERROR(
      parse_val_annotations("a.JPEG\tn01\n\tn01\n", wnids, "v.txt"),
      "v.txt line 2",
      "expected file<TAB>wnid");
  EXPECT_SDN_ERROR(
      parse_val_annotations("a.JPEG\tn04\t1\n", wnids, "v.txt"),
      "v.txt line 1",
      "unknown wnid 'n04'");
}

TEST(TinyImagenet, SizeFieldsAreCheckedBeforeDecoding) {
  // A 64x64 JPEG whose frame header claims 65500x65500: refused from the
  // header, before libjpeg allocates buffers for 4 gigapixels.
  std::string jpeg = encode_jpeg(flat_image(64, 3, {1, 2, 3}), 64, 64, 3);
  const size_t sof = jpeg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  // FF C0, length (2), precision (1), height (2), width (2).
  for (size_t at : {sof + 5, sof + 7}) {
    jpeg[at] = '\xff';
    jpeg[at + 1] = '\xdc';
  }
  std::vector<uint8_t> out(3 * 64 * 64);
  EXPECT_SDN_ERROR(
      decode_jpeg_rgb(jpeg, "big.jpg", 64, out.data()),
      "big.jpg",
      "65500x65500, expected 64x64");
}
