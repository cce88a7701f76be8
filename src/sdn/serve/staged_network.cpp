#include "sdn/serve/staged_network.h"

#include "sdn/inference/early_exit.h"
#include "sdn/network/inference_copy.h"
#include "sdn/network/memory_format.h"
#include "sdn/util/error.h"

#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <utility>

namespace sdn::serve {

namespace {

// The copy every mode runs: sdn exit's defaults.
network::SdnNetwork prepared(const network::SdnNetworkImpl& network) {
  network::InferenceCopyOptions options;
  options.fold_batch_norm = true;
  options.channels_last = true;
  options.device = "cpu";
  return network::inference_copy(network, options);
}

// Softmax of `logits` on the CPU as float32, contiguous: what early exit
// decides on.
torch::Tensor softmax_cpu(const torch::Tensor& logits) {
  return logits.softmax(/*dim=*/1)
      .to(torch::kCPU, torch::kFloat32)
      .contiguous();
}

// Stage mode: exit e's stage runs step(e).
class StageNetwork final : public StagedModel {
 public:
  StageNetwork(
      const network::SdnNetworkImpl& network,
      const analysis::ExitPolicy& policy,
      analysis::NoExitRule no_exit,
      std::vector<double> exit_cost)
      : net_(prepared(network)),
        decider_(policy, no_exit, network.num_exits()),
        exit_cost_(std::move(exit_cost)) {}

  int64_t num_stages() const override {
    return net_->num_exits();
  }
  int64_t num_exits() const override {
    return net_->num_exits();
  }

  void run(int64_t stage, StageBatch& batch) override {
    c10::InferenceMode inference;
    const auto input = network::maybe_channels_last(batch.input, true);
    const auto state = stage == 0 ? net_->start(input) : input;
    auto [logits, next] = net_->step(stage, state);
    const auto probs = softmax_cpu(logits);
    const int64_t m = probs.size(0);
    decider_.decide(
        stage,
        probs.data_ptr<float>(),
        m,
        probs.size(1),
        batch.carry,
        decisions_);
    batch.exits = decisions_.exits;
    batch.answers.assign(static_cast<size_t>(m), Answer{});
    keep_.clear();
    for (int64_t i = 0; i < m; ++i) {
      const auto at = static_cast<size_t>(i);
      if (decisions_.exits[at] == 0) {
        keep_.push_back(i);
        continue;
      }
      Answer& a = batch.answers[at];
      a.prediction = decisions_.prediction[at];
      a.confidence = decisions_.confidence[at];
      a.exit = stage;
      a.cost = exit_cost_[static_cast<size_t>(stage)];
    }
    batch.next = torch::Tensor();
    if (!keep_.empty()) {
      batch.next = static_cast<int64_t>(keep_.size()) == m ?
          next :
          inference::select_rows(next, keep_);
      batch.carry.keep_rows(keep_);
    }
  }

 private:
  network::SdnNetwork net_;
  inference::ExitDecider decider_;
  std::vector<double> exit_cost_;
  inference::ExitDecisions decisions_;
  std::vector<int64_t> keep_;
};

// Batch mode: the whole SDN per batch, as sdn exit runs it.
class BatchNetwork final : public StagedModel {
 public:
  BatchNetwork(
      const network::SdnNetworkImpl& network,
      const analysis::ExitPolicy& policy,
      analysis::NoExitRule no_exit,
      std::vector<double> exit_cost)
      : net_(prepared(network)),
        policy_(policy),
        no_exit_(no_exit),
        exit_cost_(std::move(exit_cost)) {}

  int64_t num_stages() const override {
    return 1;
  }
  int64_t num_exits() const override {
    return net_->num_exits();
  }

  void run(int64_t /*stage*/, StageBatch& batch) override {
    inference::early_exit_batch(
        net_,
        network::maybe_channels_last(batch.input, true),
        policy_,
        no_exit_,
        exit_index_,
        prediction_,
        &confidence_);
    const auto m = exit_index_.size();
    batch.exits.assign(m, 1);
    batch.answers.resize(m);
    for (size_t i = 0; i < m; ++i) {
      Answer& a = batch.answers[i];
      a.prediction = prediction_[i];
      a.confidence = confidence_[i];
      a.exit = exit_index_[i];
      a.cost = exit_cost_[static_cast<size_t>(a.exit)];
    }
    batch.next = torch::Tensor();
  }

 private:
  network::SdnNetwork net_;
  const analysis::ExitPolicy& policy_;
  analysis::NoExitRule no_exit_;
  std::vector<double> exit_cost_;
  std::vector<int64_t> exit_index_;
  std::vector<int64_t> prediction_;
  std::vector<float> confidence_;
};

// The SDN's backbone as a plain CNN (no ICs), its weights copied.
network::SdnNetwork backbone_only(const network::SdnNetworkImpl& network) {
  network::NetworkOptions options = network.options();
  options.with_ics = false;
  network::SdnNetwork cnn(options);
  cnn->copy_backbone_from(network);
  return prepared(*cnn);
}

// CNN mode: the backbone alone, answered at the final exit.
class CnnNetwork final : public StagedModel {
 public:
  explicit CnnNetwork(const network::SdnNetworkImpl& network)
      : net_(backbone_only(network)), exits_(network.num_exits()) {}

  int64_t num_stages() const override {
    return 1;
  }
  int64_t num_exits() const override {
    return exits_;
  }

  void run(int64_t /*stage*/, StageBatch& batch) override {
    c10::InferenceMode inference;
    const auto logits =
        net_->forward(network::maybe_channels_last(batch.input, true)).back();
    const auto probs = softmax_cpu(logits);
    const int64_t m = probs.size(0);
    const int64_t k = probs.size(1);
    const float* p = probs.data_ptr<float>();
    batch.exits.assign(static_cast<size_t>(m), 1);
    batch.answers.resize(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
      // The first maximum, as early exit's predictions.
      const float* row = p + i * k;
      int64_t best = 0;
      for (int64_t c = 1; c < k; ++c) {
        if (row[c] > row[best]) {
          best = c;
        }
      }
      Answer& a = batch.answers[static_cast<size_t>(i)];
      a.prediction = best;
      a.confidence = row[best];
      a.exit = exits_ - 1;
      a.cost = 1.0;
    }
    batch.next = torch::Tensor();
  }

 private:
  network::SdnNetwork net_;
  int64_t exits_;
};

} // namespace

std::string to_string(ServeMode mode) {
  switch (mode) {
    case ServeMode::kStage:
      return "stage";
    case ServeMode::kBatch:
      return "batch";
    case ServeMode::kCnn:
      return "cnn";
  }
  return "?";
}

ServeMode parse_serve_mode(const std::string& text) {
  for (const auto mode :
       {ServeMode::kStage, ServeMode::kBatch, ServeMode::kCnn}) {
    if (text == to_string(mode)) {
      return mode;
    }
  }
  fail("--mode must be stage, batch or cnn, got '", text, "'");
}

std::unique_ptr<StagedModel> make_staged_network(
    ServeMode mode,
    const network::SdnNetworkImpl& network,
    const analysis::ExitPolicy* policy,
    analysis::NoExitRule no_exit,
    const std::vector<double>& exit_cost) {
  check(
      static_cast<int64_t>(exit_cost.size()) == network.num_exits(),
      "exit costs: expected ",
      network.num_exits(),
      " entries, got ",
      exit_cost.size());
  if (mode == ServeMode::kCnn) {
    check(policy == nullptr, "--mode cnn runs no exit policy");
    return std::make_unique<CnnNetwork>(network);
  }
  check(
      network.num_ics() > 0,
      "--mode ",
      to_string(mode),
      ": early exit needs an SDN (a checkpoint with ICs), got a CNN; "
      "serve it with --mode cnn");
  check(policy != nullptr, "--mode ", to_string(mode), " needs an exit policy");
  if (mode == ServeMode::kStage) {
    return std::make_unique<StageNetwork>(network, *policy, no_exit, exit_cost);
  }
  return std::make_unique<BatchNetwork>(network, *policy, no_exit, exit_cost);
}

} // namespace sdn::serve
