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
  bool channels_last = true;
  std::string device = "cpu";

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// Images per second of each repetition and their median.
struct TrainBenchResult {
  std::vector<double> images_per_second;
  double median = 0;
};

/// Times full SDN-training steps (forward through every exit, the weighted
/// loss, backward, SGD step) on a fixed random batch.
TrainBenchResult bench_train_step(const TrainBenchOptions& options);

} // namespace sdn::train
