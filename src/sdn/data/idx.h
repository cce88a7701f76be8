#pragma once

// MNIST / Fashion-MNIST IDX files (plain or gzip).

#include "sdn/data/dataset.h"

#include <cstdint>
#include <functional>
#include <string>

namespace sdn::data {

/// Where Debian's dataset-fashion-mnist package installs its files.
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Reads a whole file, gunzipping it when it starts with the gzip magic.
/// `limit(prefix)` bounds the decompressed content: it is called with what
/// has been decompressed so far and returns the most bytes the content may
/// hold (e.g. from a header in the prefix; UINT64_MAX while it cannot tell),
/// so a small gzip file cannot inflate to gigabytes. A plain file is
/// returned whole (its size bounds it). Throws sdn::Error naming the path
/// when it is missing, corrupt, decompresses to more than the limit, or has
/// bytes after its one gzip member.
std::string read_maybe_gzip(
    const std::string& path,
    const std::function<uint64_t(const std::string&)>& limit);

/// Reads an IDX3 image file (magic 2051) and zero-pads every image centred to
/// side x side. Returns uint8 [N, 1, side, side]. The header is untrusted:
/// the dimensions' product is overflow-checked and must equal the bytes that
/// follow (before anything is allocated), and images must be between side/2
/// and side pixels per edge. Throws sdn::Error naming the path.
torch::Tensor read_idx_images(const std::string& path, int64_t side);

/// Reads an IDX1 label file (magic 2049). Returns int64 [N], each checked to
/// lie in [0, num_classes).
torch::Tensor read_idx_labels(const std::string& path, int64_t num_classes);

/// Reads the train and t10k IDX pairs of MNIST or Fashion-MNIST from
/// `data_dir` (the folder with the files, or its parent holding a folder named
/// info.name). Empty `data_dir`: kFashionMnistDir for fashion-mnist; MNIST has
/// no default. Files may be gzipped (`*.gz`) or plain. Fills train and test.
Splits read_idx_splits(const std::string& data_dir, const DatasetInfo& info);

} // namespace sdn::data
