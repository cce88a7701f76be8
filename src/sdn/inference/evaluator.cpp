#include "sdn/inference/evaluator.h"

#include "sdn/data/loader.h"
#include "sdn/device/device.h"
#include "sdn/network/inference_copy.h"
#include "sdn/network/memory_format.h"
#include "sdn/util/error.h"
#include "sdn/util/progress.h"

#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <cmath>

namespace sdn::inference {

void EvalOptions::validate() const {
  check(batch_size > 0, "--batch-size must be > 0, got ", batch_size);
  check(
      device == "cpu" || device.rfind("cuda", 0) == 0,
      "--device must be cpu or cuda[:N], got '",
      device,
      "'");
}

torch::Tensor exit_probabilities(
    network::SdnNetwork& network,
    const data::Dataset& dataset,
    const data::DatasetInfo& info,
    const EvalOptions& options) {
  options.validate();
  const torch::Device device = checked_device(options.device);
  network::InferenceCopyOptions copy_options;
  copy_options.fold_batch_norm = options.fold_batch_norm;
  copy_options.channels_last = options.channels_last;
  copy_options.device = options.device;
  auto net = network::inference_copy(*network, copy_options);
  const int64_t n = dataset.size();
  const int64_t exits = net->num_exits();
  const int64_t classes = net->options().backbone.num_classes;
  auto probs = torch::empty({n, exits, classes}, torch::kFloat32);
  data::LoaderOptions lo;
  lo.batch_size = options.batch_size;
  data::BatchLoader loader(dataset, info, lo);
  Progress progress(options.label, n, "img", options.progress);
  data::Batch batch;
  int64_t done = 0;
  while (loader.next(batch)) {
    c10::InferenceMode inference;
    const auto outputs = net->forward(network::maybe_channels_last(
        batch.images.to(device), options.channels_last));
    const auto stacked =
        torch::stack(outputs, /*dim=*/1).softmax(/*dim=*/2).to(torch::kCPU);
    probs.index_copy_(0, batch.indices, stacked.to(torch::kFloat32));
    progress.advance(batch.labels.size(0));
    done += batch.labels.size(0);
    if (options.on_progress) {
      options.on_progress(done, n);
    }
  }
  progress.finish();
  return probs;
}

std::vector<double> exit_accuracy(
    const torch::Tensor& probs,
    const torch::Tensor& labels) {
  check(
      probs.dim() == 3 && labels.dim() == 1 && probs.size(0) == labels.size(0),
      "exit_accuracy expects probs [N,E,K] and labels [N], got ",
      probs.sizes(),
      " and ",
      labels.sizes());
  std::vector<double> acc;
  const int64_t n = probs.size(0);
  for (int64_t e = 0; e < probs.size(1); ++e) {
    const auto pred = probs.select(1, e).argmax(/*dim=*/1);
    const double correct = pred.eq(labels).sum().item<double>();
    acc.push_back(n > 0 ? 100.0 * correct / static_cast<double>(n) : 0.0);
  }
  return acc;
}

void Shard::validate() const {
  check(world_size >= 1, "shard world_size must be >= 1, got ", world_size);
  check(
      rank >= 0 && rank < world_size,
      "shard rank must be in [0,",
      world_size,
      "), got ",
      rank);
}

std::vector<int64_t> shard_indices(int64_t n, const Shard& shard) {
  shard.validate();
  std::vector<int64_t> indices;
  const int64_t w = shard.world_size;
  const int64_t r = shard.rank;
  for (int64_t i = r * n / w; i < (r + 1) * n / w; ++i) {
    indices.push_back(i);
  }
  return indices;
}

std::vector<double> sharded_exit_accuracy(
    network::SdnNetwork& network,
    const data::Dataset& dataset,
    const data::DatasetInfo& info,
    const EvalOptions& options,
    const Shard& shard,
    const SumOverRanks& sum) {
  shard.validate();
  check(
      shard.world_size == 1 || sum,
      "sharded_exit_accuracy: ",
      shard.world_size,
      " ranks need a sum over the ranks");
  const auto part = shard.world_size == 1 ?
      dataset :
      data::subset(dataset, shard_indices(dataset.size(), shard));
  const auto k = static_cast<double>(part.size());
  // counts[0]: samples; counts[1 + e]: correct at exit e. Sums of counts,
  // not of percentages, give exactly the accuracy over the whole split.
  std::vector<double> counts(static_cast<size_t>(network->num_exits() + 1), 0);
  counts[0] = k;
  if (part.size() > 0) {
    const auto probs = exit_probabilities(network, part, info, options);
    const auto acc = exit_accuracy(probs, part.labels);
    for (size_t e = 0; e < acc.size(); ++e) {
      counts[e + 1] = std::round(acc[e] * k / 100.0);
    }
  }
  if (sum) {
    counts = sum(counts);
  }
  std::vector<double> accuracy;
  for (size_t e = 1; e < counts.size(); ++e) {
    accuracy.push_back(100.0 * counts[e] / counts[0]);
  }
  return accuracy;
}

} // namespace sdn::inference
