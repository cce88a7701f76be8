#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sdn::train {

/// How this process takes part in a data-parallel run (docs/training.md,
/// "Data-parallel training").
struct DistributedOptions {
  int64_t world_size = 1; ///< Processes in the run; 1: not distributed.
  int64_t rank = 0; ///< This process, in [0, world_size).
  /// Rendezvous: "HOST:PORT" of the TCP store that rank 0 hosts, or
  /// "file:PATH" for a file store on a file system every rank sees.
  std::string master = "127.0.0.1:29500";
  /// GPU of this process on its machine (-1: rank modulo the GPU count).
  int64_t local_rank = -1;
  /// Seconds a rendezvous or a collective may wait for the other ranks
  /// before this process stops with an error.
  double timeout_seconds = 120;

  /// True when more than one process trains.
  bool enabled() const {
    return world_size > 1;
  }
  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// `base` with the fields that WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR and
/// MASTER_PORT set (torchrun's and most schedulers' variables) replaced.
/// Throws sdn::Error naming a variable that is not a number.
DistributedOptions distributed_options_from_env(DistributedOptions base = {});

/// The device this rank trains on: `device`, except that a bare "cuda" in a
/// distributed run becomes "cuda:<local rank>" (one GPU per process).
std::string device_for_rank(
    const std::string& device,
    const DistributedOptions& options);

/// The c10d backends this build of sdn can use: "gloo" (CPU) and/or "nccl"
/// (CUDA).
std::vector<std::string> available_backends();

/// The processes of a data-parallel run and the collectives training needs,
/// over LibTorch's c10d: Gloo for CPU tensors, NCCL for CUDA ones. With
/// world_size 1 every collective returns at once and nothing is opened.
/// Collectives must be called in the same order on every rank; a failed or
/// timed-out collective throws sdn::Error naming this rank.
class Communicator {
 public:
  /// Rendezvous with the other ranks (blocks until all joined or the
  /// timeout). `device` picks the backend: cpu -> Gloo, cuda -> NCCL.
  Communicator(const DistributedOptions& options, const std::string& device);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  /// This process's rank.
  int64_t rank() const;
  /// Number of processes.
  int64_t world_size() const;
  /// True on rank 0, the rank that writes checkpoints, metrics and output.
  bool is_main() const {
    return rank() == 0;
  }
  /// "none" (one process), "gloo" or "nccl".
  std::string backend() const;

  /// Replaces the gradient of every tensor in `params` that has one by its
  /// mean over the ranks, reducing flat buckets of up to kBucketBytes.
  void average_gradients(const std::vector<torch::Tensor>& params);
  /// Copies rank 0's values of `tensors` into every rank's tensors.
  void broadcast(const std::vector<torch::Tensor>& tensors);
  /// The element-wise sum of `values` over the ranks.
  std::vector<double> sum(const std::vector<double>& values);
  /// The mean of `value` over the ranks.
  double mean(double value);
  /// Throws sdn::Error unless every rank holds bit-identical `tensors`
  /// (compared by a 64-bit hash of their bytes); `what` names them.
  void check_same(
      const std::vector<torch::Tensor>& tensors,
      const std::string& what);
  /// Throws sdn::Error unless every rank passes the same `fingerprint`;
  /// `what` names what it stands for.
  void check_same(uint64_t fingerprint, const std::string& what);
  /// Returns once every rank has called it.
  void barrier();

  /// Bytes per gradient bucket: DistributedDataParallel's default cap, few
  /// calls for small networks and bounded extra memory for large ones.
  static constexpr int64_t kBucketBytes = 25 * 1024 * 1024;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace sdn::train
