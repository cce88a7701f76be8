#pragma once

// Image folders (--dataset folder): the layout torchvision's ImageFolder
// made standard, DIR/train/<class>/..., DIR/test/<class>/... and optionally
// DIR/val/<class>/... (docs/data.md#image-folders).

#include "sdn/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::data {

/// The image files of one split folder and their labels, in order: class
/// by class, each class's files sorted by path.
struct ImageFiles {
  std::vector<std::string> paths;
  std::vector<int64_t> labels; ///< Class indices, one per path.
};

/// What list_image_folder finds under DIR.
struct ImageFolderListing {
  /// The class folders of DIR/train sorted by their bytes (Python's
  /// sorted()): class c is classes[c]. Names starting with '.' are not
  /// classes (.ipynb_checkpoints and the like).
  std::vector<std::string> classes;
  ImageFiles train;
  ImageFiles test;
  ImageFiles val; ///< Empty when DIR/val does not exist.
  bool has_val = false; ///< DIR/val exists (it is then the validation split).
  /// Files inside the class folders that are not images by name (hidden
  /// files, Thumbs.db, .txt, and image formats other than JPEG and PNG):
  /// skipped, counted here.
  int64_t skipped = 0;
  std::vector<std::string> skipped_examples; ///< The first 3 skipped paths.
};

/// The sorted class folder names of DIR/train (as ImageFolderListing::
/// classes), without listing any file in them. Throws sdn::Error naming the
/// folder when DIR or DIR/train is missing or DIR/train holds fewer than 2
/// class folders.
std::vector<std::string> image_folder_classes(const std::string& data_dir);

/// Lists the image files of DIR's splits. Files are found at any depth
/// inside a class folder (symbolic links to files are followed, hidden
/// files and folders skipped); an image is a file named *.jpg, *.jpeg or
/// *.png (any case); what the bytes are decides how it is decoded. Throws
/// sdn::Error naming the folder when DIR/train or DIR/test is missing, when
/// test/ or val/ has other class folders than train/ (naming the names that
/// differ), or when a class folder holds no image.
ImageFolderListing list_image_folder(const std::string& data_dir);

/// Reads an image folder: train and test (and val when DIR/val exists) with
/// every image decoded by decode_image (info.channels, resized and centre
/// cropped to info.side) on every core. The listing's classes must equal
/// info.class_names (dataset_info lists them, or the checkpoint recorded
/// them). Decoded splits are kept for the rest of the process, keyed by
/// every file's path, size and modification time and the channels and side,
/// so that the commands of one run (`sdn paper`) decode a folder once.
/// Prints a `warning:` line on stderr when files were skipped. Throws
/// sdn::Error naming the file or folder.
Splits read_image_folder_splits(
    const std::string& data_dir,
    const DatasetInfo& info,
    bool show_progress);

} // namespace sdn::data
