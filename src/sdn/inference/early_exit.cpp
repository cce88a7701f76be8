#include "sdn/inference/early_exit.h"

#include "sdn/data/loader.h"
#include "sdn/network/memory_format.h"
#include "sdn/util/error.h"
#include "sdn/util/progress.h"
#include "sdn/util/timer.h"

#include <torch/torch.h>

namespace sdn::inference {

void EarlyExitOptions::validate() const {
  check(batch_size > 0, "--batch-size must be > 0, got ", batch_size);
  check(
      device == "cpu" || device.rfind("cuda", 0) == 0,
      "--device must be cpu or cuda[:N], got '",
      device,
      "'");
}

void early_exit_batch(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const ExitPolicy& policy,
    analysis::NoExitRule no_exit,
    std::vector<int64_t>& exit_index,
    std::vector<int64_t>& prediction) {
  torch::NoGradGuard no_grad;
  const int64_t b = images.size(0);
  const int64_t exits = network->num_exits();
  exit_index.assign(static_cast<size_t>(b), exits - 1);
  prediction.assign(static_cast<size_t>(b), -1);
  // Positions (in this batch) of the samples still running, and the most
  // confident answer each has had so far (for the original's no-exit rule).
  auto active = torch::arange(b, torch::kLong);
  torch::Tensor best_conf;
  torch::Tensor best_pred;
  auto state = network->start(images);
  for (int64_t e = 0; e < exits; ++e) {
    auto [logits, next] = network->step(e, state);
    const auto probs = logits.softmax(/*dim=*/1).to(torch::kFloat32);
    auto [conf, pred] = probs.max(/*dim=*/1);
    conf = conf.to(torch::kCPU);
    pred = pred.to(torch::kCPU);
    if (e == 0) {
      best_conf = conf;
      best_pred = pred;
    } else {
      // Strictly greater: ties keep the earlier exit (argmax's first max).
      const auto better = conf.gt(best_conf);
      best_conf = torch::where(better, conf, best_conf);
      best_pred = torch::where(better, pred, best_pred);
    }
    const auto* active_ptr = active.data_ptr<int64_t>();
    if (e == exits - 1) {
      const auto& answer =
          no_exit == analysis::NoExitRule::kFinal ? pred : best_pred;
      const auto* p = answer.data_ptr<int64_t>();
      for (int64_t i = 0; i < active.size(0); ++i) {
        prediction[static_cast<size_t>(active_ptr[i])] = p[i];
      }
      break;
    }
    const auto mask = policy.exit_mask(probs).to(torch::kCPU);
    const auto* m = mask.data_ptr<bool>();
    const auto* p = pred.data_ptr<int64_t>();
    std::vector<int64_t> keep;
    keep.reserve(static_cast<size_t>(active.size(0)));
    for (int64_t i = 0; i < active.size(0); ++i) {
      if (m[i]) {
        exit_index[static_cast<size_t>(active_ptr[i])] = e;
        prediction[static_cast<size_t>(active_ptr[i])] = p[i];
      } else {
        keep.push_back(i);
      }
    }
    if (keep.empty()) {
      return;
    }
    if (static_cast<int64_t>(keep.size()) < active.size(0)) {
      // Compact: later blocks run on the remaining samples only.
      const auto keep_t = torch::tensor(keep, torch::kLong);
      active = active.index_select(0, keep_t);
      best_conf = best_conf.index_select(0, keep_t);
      best_pred = best_pred.index_select(0, keep_t);
      next = next.index_select(0, keep_t.to(next.device()));
    }
    state = next;
  }
}

EarlyExitResult run_early_exit(
    network::SdnNetwork& network,
    const data::Dataset& dataset,
    const data::DatasetInfo& info,
    const ExitPolicy& policy,
    const std::vector<double>& exit_cost,
    const EarlyExitOptions& options) {
  options.validate();
  const int64_t exits = network->num_exits();
  check(
      static_cast<int64_t>(exit_cost.size()) == exits,
      "exit costs: expected ",
      exits,
      " entries, got ",
      exit_cost.size());
  const torch::Device device(options.device);
  network->eval();
  network->to(device);
  if (options.channels_last) {
    network::to_channels_last(*network);
  }
  const int64_t n = dataset.size();
  EarlyExitResult result;
  result.exit_index.assign(static_cast<size_t>(n), -1);
  result.prediction.assign(static_cast<size_t>(n), -1);
  result.exit_counts.assign(static_cast<size_t>(exits), 0);
  data::LoaderOptions lo;
  lo.batch_size = options.batch_size;
  data::BatchLoader loader(dataset, info, lo);
  Progress progress("early exit", n, "img", options.progress);
  data::Batch batch;
  std::vector<int64_t> idx;
  std::vector<int64_t> pred;
  double seconds = 0;
  while (loader.next(batch)) {
    Timer timer;
    const auto images = network::maybe_channels_last(
        batch.images.to(device), options.channels_last);
    early_exit_batch(network, images, policy, options.no_exit, idx, pred);
    if (device.is_cuda()) {
      torch::cuda::synchronize();
    }
    seconds += timer.seconds();
    const auto* pos = batch.indices.data_ptr<int64_t>();
    for (size_t i = 0; i < idx.size(); ++i) {
      result.exit_index[static_cast<size_t>(pos[i])] = idx[i];
      result.prediction[static_cast<size_t>(pos[i])] = pred[i];
    }
    progress.advance(static_cast<int64_t>(idx.size()));
  }
  progress.finish();
  const auto* labels = dataset.labels.data_ptr<int64_t>();
  int64_t correct = 0;
  double cost = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto e =
        static_cast<size_t>(result.exit_index[static_cast<size_t>(i)]);
    ++result.exit_counts[e];
    cost += exit_cost[e];
    correct += result.prediction[static_cast<size_t>(i)] == labels[i];
  }
  result.accuracy = n ? 100.0 * correct / n : 0.0;
  result.cost = n ? cost / n : 0.0;
  result.seconds = seconds;
  result.images_per_second = seconds > 0 ? n / seconds : 0.0;
  return result;
}

} // namespace sdn::inference
