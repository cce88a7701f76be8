#pragma once

// CIFAR-10 / CIFAR-100 binary versions.

#include "sdn/data/dataset.h"

#include <string>

namespace sdn::data {

/// Layout of one CIFAR binary record: label bytes, then 3x32x32 pixels (CHW).
struct CifarRecord {
  int64_t label_bytes = 1; ///< 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine).
  int64_t label_index = 0; ///< Which label byte to use (CIFAR-100: 1, fine).
  int64_t num_classes = 10;
};

/// Reads one CIFAR binary file. Returns images uint8 [N, 3, 32, 32] and
/// labels int64 [N]. Throws sdn::Error naming the file when it is missing,
/// empty, not a multiple of the record size, or a label is out of range.
Dataset read_cifar_file(const std::string& path, const CifarRecord& record);

/// Reads CIFAR-10 (`cifar-10-batches-bin/data_batch_1..5.bin`,
/// `test_batch.bin`) or CIFAR-100 (`cifar-100-binary/train.bin`, `test.bin`,
/// fine labels) from `data_dir`: that folder itself or its parent. Fills train
/// and test, and info.class_names from `batches.meta.txt` /
/// `fine_label_names.txt` when present.
Splits read_cifar_splits(const std::string& data_dir, const DatasetInfo& info);

} // namespace sdn::data
