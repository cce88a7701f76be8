#include "sdn/analysis/early_exit.h"

#include "sdn/util/error.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace sdn::analysis {

namespace {

// Average costs are sums of counts times costs divided by N; a budget equal
// to a cost up to rounding still counts as met.
constexpr double kCostSlack = 1e-9;

// Thresholds closer than this are the same grid point.
constexpr double kSameThreshold = 1e-12;

} // namespace

std::string to_string(NoExitRule rule) {
  return rule == NoExitRule::kFinal ? "final" : "most-confident";
}

NoExitRule parse_no_exit_rule(const std::string& text) {
  if (text == "most-confident") {
    return NoExitRule::kMostConfident;
  }
  if (text == "final") {
    return NoExitRule::kFinal;
  }
  fail("no-exit rule must be 'most-confident' or 'final', got '", text, "'");
}

ExitSimulation simulate(const ExitTrace& trace, double q, NoExitRule rule) {
  return simulate(trace, compute_predictions(trace), q, rule);
}

ExitSimulation simulate(
    const ExitTrace& trace,
    const TracePredictions& predictions,
    double q,
    NoExitRule rule) {
  check(
      std::isfinite(q),
      "early-exit threshold must be a finite number, got ",
      q);
  check(
      predictions.num_samples == trace.num_samples &&
          predictions.num_exits == trace.num_exits,
      "early exit: predictions do not belong to the trace");
  const int64_t n_samples = trace.num_samples;
  const int64_t n_exits = trace.num_exits;
  const int64_t last = n_exits - 1;
  // PyTorch compares a float32 confidence with a Python float in float32:
  // a confidence of 0.9f exits at q = 0.9 although 0.9f < 0.9 in double.
  const float q_float = static_cast<float>(q);
  ExitSimulation out;
  out.threshold = q;
  out.exit_index.assign(static_cast<size_t>(n_samples), last);
  out.answered_by.assign(static_cast<size_t>(n_samples), last);
  out.prediction.assign(static_cast<size_t>(n_samples), 0);
  std::vector<int64_t> counts(static_cast<size_t>(n_exits), 0);
  int64_t hits = 0;
  for (int64_t n = 0; n < n_samples; ++n) {
    int64_t taken = last;
    for (int64_t e = 0; e < last; ++e) {
      if (predictions.conf(n, e) >= q_float) {
        taken = e;
        break;
      }
    }
    int64_t answer = taken;
    if (taken == last && rule == NoExitRule::kMostConfident) {
      // First maximum over the outputs in order, as numpy.argmax.
      answer = 0;
      for (int64_t e = 1; e < n_exits; ++e) {
        if (predictions.conf(n, e) > predictions.conf(n, answer)) {
          answer = e;
        }
      }
    }
    const size_t i = static_cast<size_t>(n);
    out.exit_index[i] = taken;
    out.answered_by[i] = answer;
    out.prediction[i] = predictions.pred(n, answer);
    hits += predictions.is_correct(n, answer) ? 1 : 0;
    ++counts[static_cast<size_t>(taken)];
  }
  double total_cost = 0;
  out.exit_fraction.resize(static_cast<size_t>(n_exits));
  for (int64_t e = 0; e < n_exits; ++e) {
    const size_t i = static_cast<size_t>(e);
    // Non-exiting samples pay for the whole SDN: exit_cost.back().
    total_cost += static_cast<double>(counts[i]) * trace.exit_cost[i];
    out.exit_fraction[i] = n_samples > 0 ?
        static_cast<double>(counts[i]) / static_cast<double>(n_samples) :
        0.0;
  }
  if (n_samples > 0) {
    out.accuracy = 100.0 * static_cast<double>(hits) / n_samples;
    out.cost = total_cost / static_cast<double>(n_samples);
  }
  return out;
}

std::vector<double> paper_thresholds() {
  return {0.1, 0.15, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999};
}

std::vector<double> sweep_thresholds() {
  std::vector<double> grid = paper_thresholds();
  // i / 100.0 is correctly rounded, so it equals the literal 0.15 etc.
  for (int i = 1; i <= 99; ++i) {
    grid.push_back(i / 100.0);
  }
  for (int i = 991; i <= 999; ++i) {
    grid.push_back(i / 1000.0);
  }
  grid.push_back(0.9999);
  std::sort(grid.begin(), grid.end());
  std::vector<double> out;
  for (const double q : grid) {
    if (out.empty() || q - out.back() > kSameThreshold) {
      out.push_back(q);
    }
  }
  return out;
}

bool is_paper_threshold(double q) {
  for (const double p : paper_thresholds()) {
    if (std::fabs(p - q) <= kSameThreshold) {
      return true;
    }
  }
  return false;
}

std::vector<SweepPoint> sweep(
    const ExitTrace& trace,
    NoExitRule rule,
    const std::vector<double>& thresholds) {
  const TracePredictions predictions = compute_predictions(trace);
  std::vector<SweepPoint> out;
  out.reserve(thresholds.size());
  for (const double q : thresholds) {
    ExitSimulation sim = simulate(trace, predictions, q, rule);
    out.push_back({q, sim.accuracy, sim.cost, std::move(sim.exit_fraction)});
  }
  return out;
}

std::optional<size_t> pick_threshold(
    const std::vector<SweepPoint>& selection,
    std::optional<double> budget) {
  std::optional<size_t> best;
  for (size_t i = 0; i < selection.size(); ++i) {
    const SweepPoint& p = selection[i];
    if (budget && p.cost > *budget + kCostSlack) {
      continue;
    }
    if (!best) {
      best = i;
      continue;
    }
    const SweepPoint& b = selection[*best];
    const bool better = p.accuracy > b.accuracy ||
        (p.accuracy == b.accuracy && p.cost < b.cost) ||
        (p.accuracy == b.accuracy && p.cost == b.cost &&
         p.threshold < b.threshold);
    if (better) {
      best = i;
    }
  }
  return best;
}

std::optional<BudgetChoice> choose_threshold(
    const std::vector<SweepPoint>& selection,
    const ExitTrace& report,
    std::optional<double> budget,
    NoExitRule rule) {
  const std::optional<size_t> index = pick_threshold(selection, budget);
  if (!index) {
    return std::nullopt;
  }
  const SweepPoint& chosen = selection[*index];
  const ExitSimulation sim = simulate(report, chosen.threshold, rule);
  BudgetChoice out;
  out.threshold = chosen.threshold;
  out.accuracy = sim.accuracy;
  out.cost = sim.cost;
  out.selection_accuracy = chosen.accuracy;
  out.selection_cost = chosen.cost;
  return out;
}

double threshold_for_budget(
    const ExitTrace& val,
    double budget,
    NoExitRule rule) {
  check(
      std::isfinite(budget) && budget > 0,
      "budget must be a positive fraction of the CNN's cost, got ",
      budget);
  const std::vector<SweepPoint> points = sweep(val, rule);
  const std::optional<size_t> index = pick_threshold(points, budget);
  if (!index) {
    double lowest = points.front().cost;
    double at = points.front().threshold;
    for (const SweepPoint& p : points) {
      if (p.cost < lowest) {
        lowest = p.cost;
        at = p.threshold;
      }
    }
    fail(
        "no threshold keeps the average cost on the ",
        val.split.empty() ? std::string("selection") : val.split,
        " trace within the budget ",
        budget,
        " of the CNN's cost; the lowest reachable is ",
        lowest,
        " (q = ",
        at,
        ")");
  }
  return points[*index].threshold;
}

} // namespace sdn::analysis
