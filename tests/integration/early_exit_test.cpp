// Real early exit (batch compaction) gives exactly the trace simulation's
// exit points and predictions, at every batch size and for both no-exit
// rules.
#include "sdn/analysis/early_exit.h"
#include "sdn/data/dataset.h"
#include "sdn/inference/early_exit.h"
#include "sdn/inference/evaluator.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/network/sdn_network.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>

namespace {

// Scales IC weights: in eval mode a fresh ResNet-56 has large features and
// saturated IC outputs; shrinking them spreads the confidences.
constexpr double kSharpen = 0.05;

struct Fixture {
  sdn::data::Splits splits;
  sdn::network::SdnNetwork net{nullptr};
  sdn::analysis::ExitTrace trace;
};

Fixture make_fixture() {
  // One thread: ctest runs binaries side by side on 2 cores, and batch-1
  // inference is dominated by per-op overhead anyway.
  torch::set_num_threads(1);
  Fixture f;
  sdn::data::DataOptions d;
  d.name = "synthetic";
  d.synthetic_train = 64;
  d.synthetic_test = 60;
  d.synthetic_classes = 4;
  d.synthetic_channels = 1;
  d.val_size = 0;
  f.splits = sdn::data::load_splits(d);
  sdn::network::NetworkOptions o;
  o.backbone.arch = "resnet56";
  o.backbone.in_channels = 1;
  o.backbone.num_classes = 4;
  torch::manual_seed(3);
  f.net = sdn::network::SdnNetwork(o);
  // Spread IC confidences so that thresholds spread the exits.
  {
    torch::NoGradGuard no_grad;
    for (const auto& ic : f.net->ics()) {
      for (auto& p : ic->parameters()) {
        if (p.dim() == 2) {
          p.mul_(kSharpen);
        }
      }
    }
  }
  sdn::inference::EvalOptions eo;
  eo.progress = false;
  const auto probs = sdn::inference::exit_probabilities(
                         f.net, f.splits.test, f.splits.info, eo)
                         .contiguous();
  auto& t = f.trace;
  t.num_samples = probs.size(0);
  t.num_exits = probs.size(1);
  t.num_classes = probs.size(2);
  t.probs.resize(static_cast<size_t>(probs.numel()));
  std::memcpy(
      t.probs.data(), probs.data_ptr<float>(), t.probs.size() * sizeof(float));
  const auto* l = f.splits.test.labels.data_ptr<int64_t>();
  t.labels.assign(l, l + t.num_samples);
  t.exit_cost = sdn::inference::relative_exit_costs(f.net, false);
  return f;
}

// Thresholds at quantiles of the IC confidences, moved off any confidence by
// a margin so batch-size rounding cannot flip a decision.
std::vector<double> thresholds(const sdn::analysis::ExitTrace& t) {
  std::vector<float> conf;
  for (int64_t n = 0; n < t.num_samples; ++n) {
    for (int64_t e = 0; e < t.num_ics(); ++e) {
      conf.push_back(t.confidence(n, e));
    }
  }
  std::sort(conf.begin(), conf.end());
  std::vector<double> qs;
  for (const double quantile : {0.2, 0.6, 0.9}) {
    auto i = static_cast<size_t>(quantile * (conf.size() - 1));
    while (i + 1 < conf.size() && conf[i + 1] - conf[i] < 2e-4f) {
      ++i;
    }
    if (i + 1 < conf.size()) {
      qs.push_back(0.5 * (conf[i] + conf[i + 1]));
    }
  }
  qs.push_back(1.0); // nobody exits early (max prob is < 1 here)
  return qs;
}

} // namespace

TEST(EarlyExit, BatchedEqualsTraceSimulation) {
  auto f = make_fixture();
  const auto qs = thresholds(f.trace);
  ASSERT_GE(qs.size(), 3u);
  int64_t exited_early = 0;
  for (const auto rule :
       {sdn::analysis::NoExitRule::kMostConfident,
        sdn::analysis::NoExitRule::kFinal}) {
    for (const double q : qs) {
      const auto sim = sdn::analysis::simulate(f.trace, q, rule);
      for (const int64_t b : {1, 7, 60}) {
        sdn::inference::EarlyExitOptions eo;
        eo.batch_size = b;
        eo.no_exit = rule;
        eo.progress = false;
        const sdn::inference::MaxProbabilityPolicy policy(q);
        const auto r = sdn::inference::run_early_exit(
            f.net, f.splits.test, f.splits.info, policy, f.trace.exit_cost, eo);
        EXPECT_EQ(r.exit_index, sim.exit_index) << "q " << q << " batch " << b;
        EXPECT_EQ(r.prediction, sim.prediction) << "q " << q << " batch " << b;
        EXPECT_NEAR(r.accuracy, sim.accuracy, 1e-9);
        EXPECT_NEAR(r.cost, sim.cost, 1e-9);
        for (size_t e = 0; e + 1 < r.exit_counts.size(); ++e) {
          exited_early += r.exit_counts[e];
        }
      }
    }
  }
  EXPECT_GT(exited_early, 0); // the thresholds really spread the exits
}
