#include "sdn/inference/bench.h"

#include "sdn/inference/early_exit.h"
#include "sdn/network/memory_format.h"
#include "sdn/util/error.h"
#include "sdn/util/timer.h"

#include <torch/torch.h>

#include <algorithm>
#include <functional>

namespace sdn::inference {

void ExitBenchOptions::validate() const {
  check(!batch_sizes.empty(), "--batch-sizes must not be empty");
  for (const int64_t b : batch_sizes) {
    check(b > 0, "--batch-sizes must be positive, got ", b);
  }
  check(samples > 0 && samples_batch1 > 0, "--samples must be > 0");
  check(repetitions > 0, "--repetitions must be > 0, got ", repetitions);
  check(
      threshold >= 0 && threshold <= 1,
      "--threshold must be in [0,1], got ",
      threshold);
}

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// images/s of `run_batch` over the first `count` images in batches of `b`:
// one untimed warm-up pass, then `reps` timed passes.
std::vector<double> time_passes(
    const torch::Tensor& images,
    int64_t count,
    int64_t b,
    int64_t reps,
    bool cuda,
    const std::function<void(const torch::Tensor&)>& run_batch) {
  auto pass = [&] {
    for (int64_t start = 0; start < count; start += b) {
      run_batch(images.narrow(0, start, std::min(b, count - start)));
    }
    if (cuda) {
      torch::cuda::synchronize();
    }
  };
  pass();
  std::vector<double> rates;
  for (int64_t r = 0; r < reps; ++r) {
    Timer timer;
    pass();
    rates.push_back(static_cast<double>(count) / timer.seconds());
  }
  return rates;
}

} // namespace

std::vector<ExitBenchRow> bench_exit(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const std::vector<double>& exit_cost,
    const ExitBenchOptions& options) {
  options.validate();
  check(
      network->num_ics() > 0, "bench exit needs an SDN checkpoint (with ICs)");
  check(
      static_cast<int64_t>(exit_cost.size()) == network->num_exits(),
      "exit costs: expected ",
      network->num_exits(),
      " entries, got ",
      exit_cost.size());
  torch::NoGradGuard no_grad;
  const torch::Device device(options.device);
  const bool cuda = device.is_cuda();
  // The plain CNN is the SDN's own backbone without its ICs.
  auto cnn_options = network->options();
  cnn_options.with_ics = false;
  network::SdnNetwork cnn(cnn_options);
  cnn->copy_backbone_from(*network);
  for (auto* net : {&network, &cnn}) {
    (*net)->eval();
    (*net)->to(device);
    if (options.channels_last) {
      network::to_channels_last(**net);
    }
  }
  const auto data =
      network::maybe_channels_last(images.to(device), options.channels_last);
  const MaxProbabilityPolicy policy(options.threshold);

  std::vector<ExitBenchRow> rows;
  for (const int64_t b : options.batch_sizes) {
    const int64_t count = std::min<int64_t>(
        data.size(0), b == 1 ? options.samples_batch1 : options.samples);
    // The early-exit cost of these very images, for the FLOPs column.
    std::vector<int64_t> idx;
    std::vector<int64_t> pred;
    double cost = 0;
    for (int64_t start = 0; start < count; start += 256) {
      early_exit_batch(
          network,
          data.narrow(0, start, std::min<int64_t>(256, count - start)),
          policy,
          analysis::NoExitRule::kMostConfident,
          idx,
          pred);
      for (const int64_t e : idx) {
        cost += exit_cost[static_cast<size_t>(e)];
      }
    }
    cost /= static_cast<double>(count);

    ExitBenchRow cnn_row{"cnn", b, 0, 1.0, 1.0, {}};
    cnn_row.runs = time_passes(
        data, count, b, options.repetitions, cuda, [&](const torch::Tensor& x) {
          cnn->forward(x);
        });
    cnn_row.images_per_second = median(cnn_row.runs);

    ExitBenchRow all_row{"sdn-all-exits", b, 0, 0, exit_cost.back(), {}};
    all_row.runs = time_passes(
        data, count, b, options.repetitions, cuda, [&](const torch::Tensor& x) {
          network->forward(x);
        });
    all_row.images_per_second = median(all_row.runs);

    ExitBenchRow exit_row{"early-exit", b, 0, 0, cost, {}};
    exit_row.runs = time_passes(
        data, count, b, options.repetitions, cuda, [&](const torch::Tensor& x) {
          early_exit_batch(
              network,
              x,
              policy,
              analysis::NoExitRule::kMostConfident,
              idx,
              pred);
        });
    exit_row.images_per_second = median(exit_row.runs);

    for (auto* row : {&cnn_row, &all_row, &exit_row}) {
      row->relative_time = cnn_row.images_per_second / row->images_per_second;
      rows.push_back(*row);
    }
  }
  return rows;
}

} // namespace sdn::inference
