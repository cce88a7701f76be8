#include "sdn/train/bench.h"

#include "sdn/device/device.h"
#include "sdn/device/threads.h"
#include "sdn/network/memory_format.h"
#include "sdn/network/sdn_network.h"
#include "sdn/train/schedules.h"
#include "sdn/train/trainer.h"
#include "sdn/util/error.h"
#include "sdn/util/timer.h"

#include <torch/torch.h>

#include <algorithm>

namespace sdn::train {

void TrainBenchOptions::validate() const {
  check(batch_size > 0, "--batch-size must be > 0, got ", batch_size);
  check(side == 32 || side == 64, "--side must be 32 or 64, got ", side);
  check(steps > 0, "--steps must be > 0, got ", steps);
  check(repetitions > 0, "--repetitions must be > 0, got ", repetitions);
  check(warmup_steps >= 0, "--warmup must be >= 0, got ", warmup_steps);
}

namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Restores the BLAS thread count in force when it was made.
class BlasThreadsGuard {
 public:
  explicit BlasThreadsGuard(bool library_default) : saved_(blas_threads()) {
    if (library_default) {
      set_blas_threads(0);
    }
  }
  ~BlasThreadsGuard() {
    set_blas_threads(saved_);
  }
  BlasThreadsGuard(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard& operator=(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard(BlasThreadsGuard&&) = delete;
  BlasThreadsGuard& operator=(BlasThreadsGuard&&) = delete;

 private:
  int saved_;
};

} // namespace

TrainBenchResult bench_train_step(const TrainBenchOptions& options) {
  options.validate();
  const BlasThreadsGuard blas_guard(options.library_blas_threads);
  const torch::Device device = checked_device(options.device);
  torch::manual_seed(1221);
  network::NetworkOptions no;
  no.backbone.arch = options.arch;
  no.backbone.in_channels = options.channels;
  no.backbone.input_side = options.side;
  no.backbone.num_classes = options.classes;
  no.with_ics = options.with_ics;
  network::SdnNetwork net(no);
  net->to(device);
  if (options.channels_last) {
    network::to_channels_last(*net);
  }
  net->train();
  torch::optim::SGD sgd(
      net->parameters(),
      torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(1e-4));
  auto images = network::maybe_channels_last(
      torch::randn(
          {options.batch_size, options.channels, options.side, options.side})
          .to(device),
      options.channels_last);
  const auto labels =
      torch::randint(options.classes, {options.batch_size}, torch::kLong)
          .to(device);
  const auto tau = ic_weights_at_epoch(1, 100, net->num_ics());
  const auto mode =
      options.with_ics ? checkpoint::Mode::kSdn : checkpoint::Mode::kCnn;
  auto step = [&] {
    if (options.set_to_none) {
      clear_gradients(sgd);
    } else {
      sgd.zero_grad();
    }
    const auto outputs = net->forward(images);
    auto loss = training_loss(mode, outputs, labels, tau);
    loss.backward();
    sgd.step();
    if (device.is_cuda()) {
      torch::cuda::synchronize();
    }
  };
  for (int64_t i = 0; i < options.warmup_steps; ++i) {
    step();
  }
  TrainBenchResult result;
  result.blas_threads = blas_threads();
  for (int64_t r = 0; r < options.repetitions; ++r) {
    Timer timer;
    for (int64_t i = 0; i < options.steps; ++i) {
      step();
    }
    result.images_per_second.push_back(
        static_cast<double>(options.steps * options.batch_size) /
        timer.seconds());
  }
  result.median = median_of(result.images_per_second);
  return result;
}

std::vector<TrainBenchResult> bench_train_variants(
    const std::vector<TrainBenchOptions>& variants,
    int64_t rounds) {
  check(rounds > 0, "--rounds must be > 0, got ", rounds);
  std::vector<TrainBenchResult> results(variants.size());
  for (int64_t r = 0; r < rounds; ++r) {
    for (size_t v = 0; v < variants.size(); ++v) {
      const auto one = bench_train_step(variants[v]);
      results[v].blas_threads = one.blas_threads;
      auto& all = results[v].images_per_second;
      all.insert(
          all.end(),
          one.images_per_second.begin(),
          one.images_per_second.end());
    }
  }
  for (auto& result : results) {
    result.median = median_of(result.images_per_second);
  }
  return results;
}

} // namespace sdn::train
