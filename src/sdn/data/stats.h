#pragma once

// Summary statistics of a split, for `sdn data info`.

#include "sdn/data/dataset.h"

#include <cstdint>
#include <vector>

namespace sdn::data {

/// Counts and pixel statistics of one split.
struct SplitStats {
  int64_t count = 0; ///< Samples.
  std::vector<int64_t> shape; ///< [C, H, W].
  std::vector<int64_t> label_counts; ///< num_classes entries.
  std::vector<double> mean; ///< Per channel, pixels scaled to [0, 1].
  std::vector<double> std; ///< Per channel (population std), same scale.
};

/// Statistics of `dataset` before normalisation. Throws sdn::Error when a
/// label lies outside [0, num_classes).
SplitStats split_stats(const Dataset& dataset, int64_t num_classes);

} // namespace sdn::data
