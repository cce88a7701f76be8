#include "sdn/data/image_folder.h"

#include "sdn/data/stats.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace sdn::data;
using namespace sdn::data::testing;

namespace {

// A flat RGB PNG of `side` x `side`.
std::string flat_png(int side, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> row;
  for (int x = 0; x < side; ++x) {
    row.insert(row.end(), {r, g, b});
  }
  return encode_png(
      std::vector<std::vector<uint8_t>>(static_cast<size_t>(side), row),
      side,
      PngLayout{});
}

// Classes "B", "a", "cat" (byte order: B < a < cat); train has 3 images per
// class (one JPEG, one in a subfolder), test 1, plus files that are not
// images. Class c's images are flat (20 + 80c, 10, 30 + c).
void write_folder(const std::string& root, bool with_val = false) {
  const std::vector<std::string> classes = {"cat", "a", "B"};
  for (const auto& name : classes) {
    const int c = name == "B" ? 0 : name == "a" ? 1 : 2;
    const auto v = static_cast<uint8_t>(20 + 80 * c);
    const auto b = static_cast<uint8_t>(30 + c);
    write_bytes(root + "/train/" + name + "/x1.png", flat_png(40, v, 10, b));
    write_bytes(
        root + "/train/" + name + "/deep/x2.PNG", flat_png(20, v, 10, b));
    write_bytes(
        root + "/train/" + name + "/x0.jpg",
        encode_jpeg(flat_image(48, 3, {v, 10, b}), 48, 48, 3));
    write_bytes(root + "/test/" + name + "/t.png", flat_png(32, v, 10, b));
    if (with_val) {
      write_bytes(root + "/val/" + name + "/v.png", flat_png(32, v, 10, b));
    }
  }
  write_bytes(root + "/train/a/Thumbs.db", "x");
  write_bytes(root + "/train/a/notes.txt", "x");
  write_bytes(root + "/train/B/.DS_Store", "x");
  write_bytes(root + "/train/B/.hidden/y.png", flat_png(8, 0, 0, 0));
  write_bytes(root + "/train/.ipynb_checkpoints/z.png", flat_png(8, 0, 0, 0));
}

DataOptions folder_options(const std::string& dir) {
  DataOptions options;
  options.name = "folder";
  options.data_dir = dir;
  options.val_size = 0;
  return options;
}

} // namespace

TEST(ImageFolder, ListsClassesInByteOrderAndSkipsWhatIsNotAnImage) {
  TempDir dir("folder_list");
  write_folder(dir.str());
  const ImageFolderListing listing = list_image_folder(dir.str());
  EXPECT_EQ(listing.classes, (std::vector<std::string>{"B", "a", "cat"}));
  ASSERT_EQ(listing.train.paths.size(), 9U);
  EXPECT_EQ(listing.test.paths.size(), 3U);
  EXPECT_FALSE(listing.has_val);
  // Class by class, sorted paths within a class, subfolders included.
  EXPECT_EQ(
      listing.train.labels, (std::vector<int64_t>{0, 0, 0, 1, 1, 1, 2, 2, 2}));
  EXPECT_NE(
      listing.train.paths[0].find("/train/B/deep/x2.PNG"), std::string::npos);
  // Thumbs.db, notes.txt, .DS_Store, and the hidden folder (not entered).
  EXPECT_EQ(listing.skipped, 4);
  EXPECT_EQ(listing.skipped_examples.size(), 3U);
  EXPECT_EQ(image_folder_classes(dir.str()), listing.classes);
}

TEST(ImageFolder, LoadsResizedImagesWithComputedNormalisationRecorded) {
  TempDir dir("folder_load");
  write_folder(dir.str());
  DataOptions options = folder_options(dir.str());
  const DatasetInfo before = dataset_info(options);
  EXPECT_EQ(before.num_classes, 3);
  EXPECT_EQ(before.channels, 3);
  EXPECT_EQ(before.side, 32);
  EXPECT_TRUE(before.mean.empty());
  const Splits s = load_splits(options);
  ASSERT_EQ(s.train.images.sizes(), (torch::IntArrayRef{9, 3, 32, 32}));
  ASSERT_EQ(s.test.images.sizes(), (torch::IntArrayRef{3, 3, 32, 32}));
  EXPECT_EQ(s.val.size(), 0);
  for (int64_t i = 0; i < 9; ++i) {
    const int64_t c = s.train.labels[i].item<int64_t>();
    EXPECT_NEAR(s.train.images[i][0][16][16].item<int>(), 20 + 80 * c, 3);
    EXPECT_NEAR(s.train.images[i][2][0][31].item<int>(), 30 + c, 3);
  }
  EXPECT_EQ(s.info.class_names, (std::vector<std::string>{"B", "a", "cat"}));
  // Mean and std: those of the training split, recorded in the options.
  const SplitStats stats = split_stats(s.train, 3);
  ASSERT_EQ(s.info.mean.size(), 3U);
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(s.info.mean[c], static_cast<float>(stats.mean[c]));
    // Green is 10 everywhere: a flat channel is not scaled (std 1).
    EXPECT_FLOAT_EQ(
        s.info.std[c], c == 1 ? 1.f : static_cast<float>(stats.std[c]));
  }
  EXPECT_EQ(stats.std[1], 0);
  EXPECT_EQ(s.options.mean, s.info.mean);
  EXPECT_EQ(s.options.std, s.info.std);
  EXPECT_EQ(s.options.class_names, s.info.class_names);
  // Recorded, the options describe the data with no folder at all.
  DataOptions moved = s.options;
  moved.data_dir = dir.str("gone");
  const DatasetInfo recorded = dataset_info(moved);
  EXPECT_EQ(recorded.class_names, s.info.class_names);
  EXPECT_EQ(recorded.mean, s.info.mean);
  // One channel, side 64, given normalisation.
  options.image_channels = 1;
  options.image_side = 64;
  options.mean = {0.5f};
  options.std = {0.25f};
  const Splits grey = load_splits(options);
  ASSERT_EQ(grey.train.images.sizes(), (torch::IntArrayRef{9, 1, 64, 64}));
  EXPECT_EQ(grey.info.mean, (std::vector<float>{0.5f}));
  EXPECT_EQ(grey.options.mean, (std::vector<float>{0.5f}));
}

TEST(ImageFolder, ValFolderIsTheValidationSplitAndClassesSelectByIndex) {
  TempDir dir("folder_val");
  write_folder(dir.str(), true);
  DataOptions options = folder_options(dir.str());
  options.val_size = 5000; // unused: val/ is the validation split
  const Splits s = load_splits(options);
  EXPECT_EQ(s.val.size(), 3);
  EXPECT_EQ(s.train.size(), 9);
  EXPECT_EQ(s.options.val_size, 0);
  options.classes = {2, 0};
  const Splits kept = load_splits(options);
  EXPECT_EQ(kept.info.class_names, (std::vector<std::string>{"cat", "B"}));
  EXPECT_EQ(kept.train.size(), 6);
  EXPECT_EQ(kept.val.size(), 2);
  EXPECT_EQ(kept.options.class_names, s.options.class_names);
  EXPECT_EQ(held_out_classes(kept.options), (std::vector<int64_t>{1}));
}

TEST(ImageFolder, BadFoldersNameWhatIsWrong) {
  TempDir dir("folder_bad");
  const std::string root = dir.str();
  EXPECT_SDN_ERROR(dataset_info(folder_options(dir.str("nowhere"))), "nowhere");
  write_folder(root);
  // The recorded classes must be the folder's.
  DataOptions options = folder_options(root);
  options.class_names = {"B", "a", "dog"};
  options.mean = {0.5f, 0.5f, 0.5f};
  options.std = {0.5f, 0.5f, 0.5f};
  EXPECT_SDN_ERROR(
      load_splits(options),
      root.c_str(),
      "its 3 class folders differ from the 3 classes recorded for this data "
      "(missing 'dog'; extra 'cat')");
  // test/ with other classes than train/.
  std::filesystem::rename(root + "/test/cat", root + "/test/dog");
  EXPECT_SDN_ERROR(
      list_image_folder(root),
      "test: its 3 class folders differ from those of train/",
      "missing 'cat'; extra 'dog'");
  std::filesystem::rename(root + "/test/dog", root + "/test/cat");
  // A link to a folder inside a class folder is skipped, not followed.
  std::filesystem::create_directory_symlink(
      root + "/train/B/deep", root + "/train/a/link");
  EXPECT_EQ(list_image_folder(root).train.paths.size(), 9U);
  EXPECT_EQ(list_image_folder(root).skipped, 5);
  std::filesystem::remove(root + "/train/a/link");
  // Names with control characters are refused, shown escaped.
  write_bytes(root + "/train/a/nl\nerror: x.png", "x");
  EXPECT_SDN_ERROR(
      list_image_folder(root),
      "train/a/nl\\nerror: x.png: a name with a control character");
  std::filesystem::remove(root + "/train/a/nl\nerror: x.png");
  std::filesystem::create_directories(root + "/train/c\tx");
  EXPECT_SDN_ERROR(
      list_image_folder(root),
      "train/c\\tx: the class name has a control character");
  std::filesystem::remove(root + "/train/c\tx");
  // train/ that is a file, and a link loop in place of train/.
  std::filesystem::rename(root + "/train", root + "/train.moved");
  write_bytes(root + "/train", "x");
  EXPECT_SDN_ERROR(list_image_folder(root), "train: not a folder");
  std::filesystem::remove(root + "/train");
  std::filesystem::create_directory_symlink("train", root + "/train");
  EXPECT_SDN_ERROR(list_image_folder(root), "cannot list", "train");
  std::filesystem::remove(root + "/train");
  std::filesystem::rename(root + "/train.moved", root + "/train");
  // A class folder whose name JSON cannot hold.
  std::filesystem::create_directories(root + "/train/d\xe9j\xe0");
  EXPECT_SDN_ERROR(
      list_image_folder(root),
      "train/d\xe9j\xe0: the class name is not valid UTF-8 (bytes 64 e9 6a e0)");
  std::filesystem::remove(root + "/train/d\xe9j\xe0");
  // An image file's size and signature are checked before it is read.
  write_bytes(root + "/test/cat/huge.png", "");
  std::filesystem::resize_file(root + "/test/cat/huge.png", int64_t{3} << 30);
  EXPECT_SDN_ERROR(
      load_splits(folder_options(root)),
      "test/cat/huge.png: 3221225472 bytes, more than the 268435456 an image "
      "file may have");
  std::filesystem::resize_file(root + "/test/cat/huge.png", int64_t{1} << 20);
  EXPECT_SDN_ERROR(
      load_splits(folder_options(root)),
      "test/cat/huge.png: not a JPEG or PNG image (1048576 bytes without "
      "either signature)");
  std::filesystem::remove(root + "/test/cat/huge.png");
  // A class folder without images.
  std::filesystem::create_directories(root + "/test/cat/empty");
  std::filesystem::remove(root + "/test/cat/t.png");
  EXPECT_SDN_ERROR(list_image_folder(root), "test/cat", "no images");
  write_bytes(root + "/test/cat/t.png", "not an image");
  EXPECT_SDN_ERROR(
      load_splits(folder_options(root)), "test/cat/t.png", "not a JPEG or PNG");
  std::filesystem::remove_all(root + "/test");
  EXPECT_SDN_ERROR(list_image_folder(root), "missing folder", "test");
  // Options.
  DataOptions bad = folder_options(root);
  bad.image_side = 48;
  EXPECT_SDN_ERROR(bad.validate(), "--image-side must be 32 or 64, got 48");
  bad = folder_options(root);
  bad.mean = {0.5f};
  EXPECT_SDN_ERROR(bad.validate(), "--mean and --std go together");
  bad.std = {0.5f};
  EXPECT_SDN_ERROR(bad.validate(), "--mean: expected 3 values", "got 1");
  bad = folder_options("");
  EXPECT_SDN_ERROR(bad.validate(), "--dataset folder needs --data-dir");
  DataOptions fashion;
  fashion.mean = {0.5f};
  fashion.std = {0.5f};
  EXPECT_SDN_ERROR(
      fashion.validate(), "--mean/--std apply to --dataset folder");
}

TEST(ImageFolder, DecodedSplitsAreKeptUntilAFileChanges) {
  TempDir dir("folder_cache");
  write_folder(dir.str());
  const DataOptions options = folder_options(dir.str());
  const Splits first = load_splits(options);
  // Same size, same modification time, other pixels: the kept decoding is
  // used (the file's path, size and time are what identify it) ...
  const std::string path = dir.str("test/a/t.png");
  const auto time = std::filesystem::last_write_time(path);
  std::string other;
  for (int red = 0; red < 256 && other.empty(); ++red) {
    const std::string candidate =
        flat_png(32, static_cast<uint8_t>(red), 10, 31);
    if (red != 100 && candidate.size() == std::filesystem::file_size(path)) {
      other = candidate;
    }
  }
  ASSERT_FALSE(other.empty());
  write_bytes(path, other);
  std::filesystem::last_write_time(path, time);
  EXPECT_TRUE(
      torch::equal(load_splits(options).test.images, first.test.images));
  // ... and a new modification time decodes it again.
  std::filesystem::last_write_time(path, time + std::chrono::seconds(5));
  const Splits again = load_splits(options);
  EXPECT_NE(again.test.images[1][0][5][5].item<int>(), 100);
  EXPECT_FALSE(torch::equal(again.test.images, first.test.images));
}
