#pragma once

#include "sdn/data/dataset.h"

#include <torch/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace sdn::data {

/// A batch ready for the network.
struct Batch {
  torch::Tensor images; ///< float32 [B, C, H, W], augmented and normalised.
  torch::Tensor labels; ///< int64 [B].
  torch::Tensor indices; ///< int64 [B]: positions in the Dataset.
};

/// How to iterate over a Dataset for one epoch.
struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = false;
  bool augment = false; ///< Apply DatasetInfo::augment.
  bool drop_last = false;
  uint64_t seed = 1221; ///< Shuffle and augmentation derive from (seed, epoch).
  int64_t epoch = 0;
  int prefetch = 2; ///< Batches prepared ahead on a background thread.
  /// Data-parallel shard of this process: every world_size-th sample of the
  /// epoch's order, from position rank (the last n % world_size dropped)...
  int64_t rank = 0;
  int64_t world_size = 1; ///< ...out of this many.

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// Iterates one epoch over a Dataset in batches, preparing them on a
/// background thread. The order and every random augmentation depend only on
/// (seed, epoch, sample index), so an epoch is reproducible and resumable.
class BatchLoader {
 public:
  BatchLoader(
      const Dataset& dataset,
      const DatasetInfo& info,
      LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// Fills `batch` with the next batch; false when the epoch is over.
  bool next(Batch& batch);
  /// Batches in this epoch (for this rank).
  int64_t num_batches() const;
  /// Samples in this epoch (for this rank).
  int64_t num_samples() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Converts uint8 images [B,C,H,W] to normalised float32 (no augmentation).
torch::Tensor normalize(const torch::Tensor& images, const DatasetInfo& info);

} // namespace sdn::data
