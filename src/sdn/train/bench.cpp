#include "sdn/train/bench.h"

#include "sdn/network/memory_format.h"
#include "sdn/network/sdn_network.h"
#include "sdn/train/schedules.h"
#include "sdn/util/error.h"
#include "sdn/util/timer.h"

#include <torch/torch.h>

#include <algorithm>

namespace sdn::train {

void TrainBenchOptions::validate() const {
  check(batch_size > 0, "--batch-size must be > 0, got ", batch_size);
  check(steps > 0, "--steps must be > 0, got ", steps);
  check(repetitions > 0, "--repetitions must be > 0, got ", repetitions);
  check(warmup_steps >= 0, "--warmup must be >= 0, got ", warmup_steps);
}

TrainBenchResult bench_train_step(const TrainBenchOptions& options) {
  options.validate();
  const torch::Device device(options.device);
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
  auto step = [&] {
    sgd.zero_grad();
    const auto outputs = net->forward(images);
    auto loss = torch::nn::functional::cross_entropy(outputs.back(), labels);
    for (size_t i = 0; i + 1 < outputs.size(); ++i) {
      loss = loss +
          tau[i] * torch::nn::functional::cross_entropy(outputs[i], labels);
    }
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
  for (int64_t r = 0; r < options.repetitions; ++r) {
    Timer timer;
    for (int64_t i = 0; i < options.steps; ++i) {
      step();
    }
    result.images_per_second.push_back(
        static_cast<double>(options.steps * options.batch_size) /
        timer.seconds());
  }
  auto sorted = result.images_per_second;
  std::sort(sorted.begin(), sorted.end());
  result.median = sorted[sorted.size() / 2];
  return result;
}

} // namespace sdn::train
