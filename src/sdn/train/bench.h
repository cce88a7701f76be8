#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::train {

/// One training-step benchmark configuration.
struct TrainBenchOptions {
  std::string arch = "resnet56";
  bool with_ics = true; ///< SDN (6 ICs) or the plain CNN.
  int64_t batch_size = 128;
  int64_t side = 32;
  int64_t channels = 3;
  int64_t classes = 10;
  int64_t warmup_steps = 2; ///< Untimed steps first.
  int64_t steps = 5; ///< Timed steps per repetition.
  int64_t repetitions = 3;
  bool channels_last = true; ///< NHWC weights and images.
  /// Drop gradients before each step (clear_gradients) instead of zeroing.
  bool set_to_none = true;
  /// Run the BLAS with its own default thread count (as LibTorch leaves it)
  /// instead of the count configure_threads set: one thread unless
  /// OPENBLAS_NUM_THREADS is set.
  bool library_blas_threads = false;
  std::string device = "cpu";

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// Images per second of each repetition and their median.
struct TrainBenchResult {
  std::vector<double> images_per_second;
  double median = 0;
  int blas_threads = 0; ///< BLAS threads during the run; 0: unknown BLAS.
};

/// Times full training steps as the trainer runs them (forward through every
/// exit, training_loss, backward, SGD step with momentum and weight decay)
/// on a fixed random batch: `warmup_steps` untimed, then `repetitions` times
/// `steps` timed steps.
TrainBenchResult bench_train_step(const TrainBenchOptions& options);

/// Runs bench_train_step for every variant in turn, `rounds` times over
/// (interleaved, so load drift on a shared machine hits all variants alike),
/// and pools each variant's repetitions: the median is over all of them.
std::vector<TrainBenchResult> bench_train_variants(
    const std::vector<TrainBenchOptions>& variants,
    int64_t rounds);

} // namespace sdn::train
