#pragma once

// Tiny ImageNet (tiny-imagenet-200) from its JPEG tree.

#include "sdn/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::data {

/// Parses the text of wnids.txt (one WordNet id per line; blank lines and a
/// trailing '\r' are ignored) and returns the wnids sorted: class c is the
/// c-th. Throws sdn::Error naming `path` on a duplicate wnid.
std::vector<std::string> parse_wnids(
    const std::string& text,
    const std::string& path);

/// One line of val/val_annotations.txt.
struct ValAnnotation {
  std::string file; ///< The image's file name (under val/images/).
  int64_t label = 0; ///< Its class: the index of its wnid in the wnids.
};

/// Parses the text of val/val_annotations.txt (file<TAB>wnid[<TAB>box...] per
/// line; blank lines and a trailing '\r' are ignored) against the sorted
/// `wnids`. Throws sdn::Error naming `path` and the line for a line without
/// a file name and a tab or with an unknown wnid, and when there is no line.
std::vector<ValAnnotation> parse_val_annotations(
    const std::string& text,
    const std::vector<std::string>& wnids,
    const std::string& path);

/// The sorted wnids of wnids.txt in `data_dir` (the tiny-imagenet-200 folder
/// itself or its parent): the data set's classes in class order. Any number
/// from 2 up (subsets of the 200 classes are common). Throws sdn::Error
/// naming the folder or file.
std::vector<std::string> read_tiny_imagenet_wnids(const std::string& data_dir);

/// Reads Tiny ImageNet from `data_dir` (the tiny-imagenet-200 folder itself or
/// its parent): class index = position of the wnid in sorted wnids.txt,
/// which must list `info.class_names` (dataset_info reads them from it);
/// train = train/<wnid>/images/*.JPEG; test = the official val set, labelled
/// by val/val_annotations.txt (file<TAB>wnid...), images read in place from
/// val/images/ (or val/images/<wnid>/ when already reorganised). Decodes on
/// every core (decode_image_files; each image must be info.side square);
/// `show_progress` draws a progress bar on stderr. Throws sdn::Error naming
/// the file.
Splits read_tiny_imagenet_splits(
    const std::string& data_dir,
    const DatasetInfo& info,
    bool show_progress);

} // namespace sdn::data
