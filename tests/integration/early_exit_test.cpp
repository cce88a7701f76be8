// Real early exit (batch compaction) gives exactly the trace simulation's
// exit points and predictions, for every registered exit policy, at every
// batch size and for both no-exit rules.
#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_policy.h"
#include "sdn/data/dataset.h"
#include "sdn/inference/early_exit.h"
#include "sdn/inference/evaluator.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/network/sdn_network.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

// Scales IC weights: in eval mode a fresh ResNet-56 has large features and
// saturated IC outputs; shrinking them spreads the confidences.
constexpr double kSharpen = 0.05;

struct Fixture {
  sdn::data::Splits splits;
  sdn::network::SdnNetwork net{nullptr};
  sdn::analysis::ExitTrace trace; ///< Of the test split.
  /// Of the training split: what fitted policies learn from, so that their
  /// thresholds are not the test trace's own confidences.
  sdn::analysis::ExitTrace fit_trace;
  sdn::analysis::FitTraces fit() const {
    sdn::analysis::FitTraces traces;
    traces.val = &fit_trace;
    traces.train = &fit_trace;
    return traces;
  }
};

// The trace of `net` on `dataset`.
sdn::analysis::ExitTrace trace_of(
    sdn::network::SdnNetwork& net,
    const sdn::data::Dataset& dataset,
    const sdn::data::DatasetInfo& info) {
  sdn::inference::EvalOptions eo;
  eo.progress = false;
  const auto probs =
      sdn::inference::exit_probabilities(net, dataset, info, eo).contiguous();
  sdn::analysis::ExitTrace t;
  t.num_samples = probs.size(0);
  t.num_exits = probs.size(1);
  t.num_classes = probs.size(2);
  t.probs.resize(static_cast<size_t>(probs.numel()));
  std::memcpy(
      t.probs.data(), probs.data_ptr<float>(), t.probs.size() * sizeof(float));
  const auto* l = dataset.labels.data_ptr<int64_t>();
  t.labels.assign(l, l + t.num_samples);
  t.exit_cost = sdn::inference::relative_exit_costs(net, false);
  return t;
}

Fixture build_fixture() {
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
  f.trace = trace_of(f.net, f.splits.test, f.splits.info);
  f.fit_trace = trace_of(f.net, f.splits.train, f.splits.info);
  return f;
}

// One fixture for the binary's tests: the network and its trace.
Fixture& make_fixture() {
  static Fixture f = build_fixture();
  return f;
}

// Parameters of `type` at which the trace's decisions have a margin:
// moving the parameter by kMargin either way changes no exit, so float
// rounding between the trace's forward and the inference copy's (BN folded,
// channels-last, other batch sizes) cannot flip one. Searched over the
// policy's grid and, for a range of real numbers, a fine grid over it
// (values the policy refuses, e.g. non-integers of an integer parameter,
// count as no change); picks those whose share of samples exiting early is
// nearest 25 %, 60 % and 90 %.
std::vector<double> stable_params(
    const sdn::analysis::ExitPolicyType& type,
    const sdn::analysis::PolicyMaker& maker,
    const sdn::analysis::ExitTrace& t) {
  constexpr double kMargin = 1e-3;
  constexpr int kSteps = 1000;
  const auto rule = sdn::analysis::NoExitRule::kFinal;
  const double low = type.range.low;
  const double high = type.range.high;
  auto exits_at = [&](double x) -> std::optional<std::vector<int64_t>> {
    try {
      return sdn::analysis::simulate(t, *maker.make(x), rule).exit_index;
    } catch (const sdn::Error&) {
      return std::nullopt;
    }
  };
  std::vector<double> candidates = type.grid(t.num_exits);
  if (!type.range.integer) {
    for (int i = 0; i <= kSteps; ++i) {
      candidates.push_back(low + (high - low) * i / kSteps);
    }
  }
  std::vector<std::pair<double, double>> stable; // (param, early share)
  for (const double x : candidates) {
    const auto base = exits_at(x);
    if (!base) {
      continue;
    }
    bool ok = true;
    for (const double y : {x - kMargin, x + kMargin}) {
      const auto moved = exits_at(std::clamp(y, low, high));
      ok = ok && (!moved || *moved == *base);
    }
    if (ok) {
      const auto early = std::count_if(base->begin(), base->end(), [&](auto e) {
        return e < t.final_exit();
      });
      stable.emplace_back(x, static_cast<double>(early) / t.num_samples);
    }
  }
  std::vector<double> out;
  for (const double target : {0.25, 0.6, 0.9}) {
    const auto best = std::min_element(
        stable.begin(), stable.end(), [&](const auto& a, const auto& b) {
          return std::abs(a.second - target) < std::abs(b.second - target);
        });
    if (best != stable.end() &&
        std::find(out.begin(), out.end(), best->first) == out.end()) {
      out.push_back(best->first);
    }
  }
  return out;
}

// A policy that reads history (none is registered yet): exits when the
// argmaxes of the last `depth` exits agree; depth 0 = of every exit so far,
// at least three. Throws when handed fewer rows than it asked for.
class Agreement final : public sdn::analysis::ExitPolicy {
 public:
  explicit Agreement(int64_t depth)
      : ExitPolicy("agreement", static_cast<double>(depth), {0, 8}),
        depth_(depth) {}
  int64_t history() const override {
    return depth_ == 0 ? kAllExits : depth_;
  }
  bool exits(const sdn::analysis::ExitRows& rows) const override {
    const int64_t need =
        depth_ == 0 ? std::max<int64_t>(3, rows.exit + 1) : depth_;
    if (rows.exit + 1 < need) {
      return false;
    }
    sdn::check(
        rows.count >= need,
        "agreement: handed ",
        rows.count,
        " rows, needs ",
        need);
    auto argmax = [&](int64_t e) {
      const float* row = rows.at(e);
      return std::max_element(row, row + rows.num_classes) - row;
    };
    sdn::check(
        rows.top_class == argmax(rows.exit) &&
            rows.top_prob == rows.current()[rows.top_class],
        "agreement: top_prob / top_class are not the deciding row's");
    // Confident samples leave at once, so the batch shrinks and the history
    // of the ones that stay must be compacted along with it.
    if (rows.top_prob >= kConfident) {
      return true;
    }
    for (int64_t e = rows.exit - need + 1; e < rows.exit; ++e) {
      if (argmax(e) != argmax(rows.exit)) {
        return false;
      }
    }
    return true;
  }
  std::string describe() const override {
    return "agreement of " + std::to_string(depth_) + " exits";
  }
  static constexpr float kConfident = 0.9f;

 private:
  int64_t depth_;
};

} // namespace

// Every registered policy, at parameters that spread the exits, for both
// no-exit rules and batch sizes 1, 7 and N.
TEST(EarlyExit, BatchedEqualsTraceSimulation) {
  auto& f = make_fixture();
  const int64_t n = f.trace.num_samples;
  for (const std::string& name : sdn::analysis::exit_policy_names()) {
    const auto& type = sdn::analysis::exit_policy_type(name);
    const auto maker = type.fitted(f.fit());
    const auto params = stable_params(type, *maker, f.trace);
    ASSERT_GE(params.size(), 2u) << name;
    int64_t exited_early = 0;
    for (const auto rule :
         {sdn::analysis::NoExitRule::kMostConfident,
          sdn::analysis::NoExitRule::kFinal}) {
      for (const double param : params) {
        const auto policy = maker->make(param);
        const auto sim = sdn::analysis::simulate(f.trace, *policy, rule);
        for (const int64_t b : {int64_t{1}, int64_t{7}, n}) {
          sdn::inference::EarlyExitOptions eo;
          eo.batch_size = b;
          eo.no_exit = rule;
          eo.progress = false;
          const auto r = sdn::inference::run_early_exit(
              f.net,
              f.splits.test,
              f.splits.info,
              *policy,
              f.trace.exit_cost,
              eo);
          const std::string at = policy->describe() + ", rule " +
              sdn::analysis::to_string(rule) + ", batch " + std::to_string(b);
          EXPECT_EQ(r.exit_index, sim.exit_index) << at;
          EXPECT_EQ(r.prediction, sim.prediction) << at;
          EXPECT_NEAR(r.accuracy, sim.accuracy, 1e-9) << at;
          EXPECT_NEAR(r.cost, sim.cost, 1e-9) << at;
          EXPECT_EQ(r.policy, name);
          EXPECT_EQ(r.param, param);
          for (size_t e = 0; e + 1 < r.exit_counts.size(); ++e) {
            exited_early += r.exit_counts[e];
          }
        }
      }
    }
    EXPECT_GT(exited_early, 0) << name; // the parameters spread the exits
  }
}

// Policies that read earlier exits get them in real early exit too, kept and
// compacted with the batch.
TEST(EarlyExit, HistoryPoliciesMatchTraceSimulation) {
  auto& f = make_fixture();
  const int64_t n = f.trace.num_samples;
  for (const int64_t depth : {2, 3, 0}) {
    const Agreement policy(depth);
    const auto sim = sdn::analysis::simulate(f.trace, policy);
    int64_t early = 0;
    for (const int64_t e : sim.exit_index) {
      early += e < f.trace.final_exit();
    }
    EXPECT_GT(early, 0) << policy.describe();
    EXPECT_LT(early, n) << policy.describe();
    for (const int64_t b : {int64_t{1}, int64_t{7}, n}) {
      sdn::inference::EarlyExitOptions eo;
      eo.batch_size = b;
      eo.progress = false;
      const auto r = sdn::inference::run_early_exit(
          f.net, f.splits.test, f.splits.info, policy, f.trace.exit_cost, eo);
      EXPECT_EQ(r.exit_index, sim.exit_index)
          << policy.describe() << ", batch " << b;
      EXPECT_EQ(r.prediction, sim.prediction)
          << policy.describe() << ", batch " << b;
    }
  }
}
