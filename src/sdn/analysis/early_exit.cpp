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

TracePredictions policy_predictions(
    const ExitTrace& trace,
    const ExitPolicy& policy) {
  if (!policy.combines()) {
    return compute_predictions(trace);
  }
  TracePredictions out;
  out.num_samples = trace.num_samples;
  out.num_exits = trace.num_exits;
  const auto cells = static_cast<size_t>(trace.num_samples * trace.num_exits);
  out.prediction.resize(cells);
  out.confidence.resize(cells);
  out.correct.resize(cells);
  std::vector<float> q(static_cast<size_t>(trace.num_classes));
  ExitRows rows;
  rows.num_exits = trace.num_exits;
  rows.num_classes = trace.num_classes;
  for (int64_t n = 0; n < trace.num_samples; ++n) {
    rows.probs = trace.probs_at(n, 0);
    for (int64_t e = 0; e < trace.num_exits; ++e) {
      rows.count = e + 1;
      rows.exit = e;
      policy.combine(rows, q.data());
      int64_t best = 0;
      for (int64_t c = 1; c < trace.num_classes; ++c) {
        if (q[static_cast<size_t>(c)] > q[static_cast<size_t>(best)]) {
          best = c;
        }
      }
      const auto i = static_cast<size_t>(n * trace.num_exits + e);
      out.prediction[i] = best;
      out.confidence[i] = q[static_cast<size_t>(best)];
      out.correct[i] = best == trace.labels[static_cast<size_t>(n)] ? 1 : 0;
    }
  }
  return out;
}

ExitSimulation simulate(
    const ExitTrace& trace,
    const ExitPolicy& policy,
    NoExitRule rule) {
  policy.check_network(trace.num_exits, trace.num_classes);
  return simulate(trace, policy_predictions(trace, policy), policy, rule);
}

ExitSimulation simulate(
    const ExitTrace& trace,
    const TracePredictions& predictions,
    const ExitPolicy& policy,
    NoExitRule rule) {
  policy.check_network(trace.num_exits, trace.num_classes);
  check(
      predictions.num_samples == trace.num_samples &&
          predictions.num_exits == trace.num_exits,
      "early exit: predictions do not belong to the trace");
  const int64_t n_samples = trace.num_samples;
  const int64_t n_exits = trace.num_exits;
  const int64_t last = n_exits - 1;
  ExitSimulation out;
  out.policy = policy.name();
  out.param = policy.param();
  out.exit_index.assign(static_cast<size_t>(n_samples), last);
  out.answered_by.assign(static_cast<size_t>(n_samples), last);
  out.prediction.assign(static_cast<size_t>(n_samples), 0);
  std::vector<int64_t> counts(static_cast<size_t>(n_exits), 0);
  int64_t hits = 0;
  ExitRows rows;
  rows.num_exits = n_exits;
  rows.num_classes = trace.num_classes;
  for (int64_t n = 0; n < n_samples; ++n) {
    int64_t taken = last;
    // A sample's rows of exits 0..E-1 lie contiguous in the trace: the
    // policy sees every row up to the deciding exit, whatever its history.
    rows.probs = trace.probs_at(n, 0);
    for (int64_t e = 0; e < last; ++e) {
      rows.count = e + 1;
      rows.exit = e;
      rows.top_prob = predictions.conf(n, e);
      rows.top_class = predictions.pred(n, e);
      if (policy.exits(rows)) {
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

std::vector<SweepPoint> sweep(
    const ExitTrace& trace,
    const std::string& policy,
    NoExitRule rule,
    const FitTraces& fit) {
  const ExitPolicyType& type = exit_policy_type(policy);
  return sweep(trace, *type.fitted(fit), rule, type.grid(trace.num_exits));
}

std::vector<SweepPoint> sweep(
    const ExitTrace& trace,
    const PolicyMaker& policy,
    NoExitRule rule,
    const std::vector<double>& params) {
  // The outputs' predictions once: a combining policy's outputs do not
  // depend on its parameter (ExitPolicy::combine).
  TracePredictions predictions;
  std::vector<SweepPoint> out;
  out.reserve(params.size());
  for (const double param : params) {
    const auto made = policy.make(param);
    if (predictions.num_samples == 0) {
      predictions = policy_predictions(trace, *made);
    }
    ExitSimulation sim = simulate(trace, predictions, *made, rule);
    out.push_back(
        {param, sim.accuracy, sim.cost, std::move(sim.exit_fraction)});
  }
  return out;
}

std::optional<size_t> pick_param(
    const std::vector<SweepPoint>& selection,
    std::optional<double> budget,
    BudgetPick pick) {
  const bool by_cost = budget && pick == BudgetPick::kLargestCost;
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
    const bool better = by_cost ?
        p.cost > b.cost || (p.cost == b.cost && p.accuracy > b.accuracy) ||
            (p.cost == b.cost && p.accuracy == b.accuracy &&
             p.param < b.param) :
        p.accuracy > b.accuracy ||
            (p.accuracy == b.accuracy && p.cost < b.cost) ||
            (p.accuracy == b.accuracy && p.cost == b.cost && p.param < b.param);
    if (better) {
      best = i;
    }
  }
  return best;
}

std::optional<BudgetChoice> choose_param(
    const std::vector<SweepPoint>& selection,
    const PolicyMaker& policy,
    BudgetPick pick,
    const ExitTrace& report,
    std::optional<double> budget,
    NoExitRule rule) {
  const std::optional<size_t> index = pick_param(selection, budget, pick);
  if (!index) {
    return std::nullopt;
  }
  const SweepPoint& chosen = selection[*index];
  const ExitSimulation sim = simulate(report, *policy.make(chosen.param), rule);
  BudgetChoice out;
  out.param = chosen.param;
  out.accuracy = sim.accuracy;
  out.cost = sim.cost;
  out.selection_accuracy = chosen.accuracy;
  out.selection_cost = chosen.cost;
  return out;
}

double param_for_budget(
    const ExitTrace& val,
    const std::string& policy,
    double budget,
    NoExitRule rule,
    const FitTraces& fit) {
  check(
      std::isfinite(budget) && budget > 0,
      "--budget must be a positive fraction of the CNN's cost, got ",
      budget);
  FitTraces on = fit;
  if (on.val == nullptr) {
    on.val = &val;
  }
  const std::vector<SweepPoint> points = sweep(val, policy, rule, on);
  check(
      !points.empty(),
      "the ",
      policy,
      " policy has no parameter for a network of ",
      val.num_exits,
      " exits");
  const std::optional<size_t> index =
      pick_param(points, budget, exit_policy_type(policy).budget_pick);
  if (!index) {
    double lowest = points.front().cost;
    double at = points.front().param;
    for (const SweepPoint& p : points) {
      if (p.cost < lowest) {
        lowest = p.cost;
        at = p.param;
      }
    }
    fail(
        "no parameter of the ",
        policy,
        " policy keeps the average cost on the ",
        val.split.empty() ? std::string("selection") : val.split,
        " trace within the budget ",
        budget,
        " of the CNN's cost; the lowest reachable is ",
        lowest,
        " (--param ",
        at,
        ")");
  }
  return points[*index].param;
}

void ExitPolicyRequest::validate() const {
  exit_policy_type(policy);
  // Values first, so that a bad value is named before any conflict.
  if (threshold) {
    check(
        std::isfinite(*threshold) && *threshold >= 0 && *threshold <= 1,
        "--threshold must be in [0, 1], got ",
        *threshold);
  }
  if (param) {
    exit_policy_type(policy).range.check(policy, *param);
  }
  if (budget) {
    check(
        std::isfinite(*budget) && *budget > 0,
        "--budget must be a finite number > 0, got ",
        *budget);
  }
  if (threshold) {
    check(
        policy == kMaxProbPolicy,
        "--threshold means --policy max-prob; give --param for the ",
        policy,
        " policy");
    check(
        !param,
        "give one of --threshold and --param (--threshold Q is --policy "
        "max-prob --param Q)");
  }
  const bool given = param || threshold;
  check(
      given != budget.has_value(),
      "give exactly one of --param (or --threshold) and --budget");
  const PolicyFit fit = exit_policy_type(policy).fit;
  if (budget) {
    check(
        !val_trace.empty(),
        "--budget needs --val-trace (a validation trace from sdn eval)");
  } else if (fit == PolicyFit::kNone) {
    check(
        val_trace.empty(),
        "--val-trace has no effect without --budget (it is where the "
        "budget's parameter is chosen) for the ",
        policy,
        " policy");
  }
  if (fit == PolicyFit::kValidation) {
    check(
        !val_trace.empty(),
        "the ",
        policy,
        " policy is fitted on a validation trace: give --val-trace");
  }
  if (fit == PolicyFit::kTraining) {
    check(
        !val_trace.empty() || !train_trace.empty(),
        "the ",
        policy,
        " policy is fitted on a trace: give --train-trace (or --val-trace)");
    check(
        budget || val_trace.empty() || train_trace.empty(),
        "--val-trace has no effect for the ",
        policy,
        " policy with --train-trace and no --budget (it is fitted on the "
        "training trace)");
  } else {
    check(
        train_trace.empty(),
        "--train-trace has no effect for the ",
        policy,
        " policy (only the ensemble policy learns from it)");
  }
}

std::unique_ptr<ExitPolicy> resolve_exit_policy(
    const ExitPolicyRequest& request) {
  request.validate();
  if (request.threshold) {
    return make_exit_policy(kMaxProbPolicy, *request.threshold);
  }
  // A trace of another network would fit or choose meaningless parameters.
  const auto read_for_network = [&](const std::string& dir,
                                    const char* option) {
    std::optional<ExitTrace> trace;
    if (dir.empty()) {
      return trace;
    }
    trace = read_trace(dir);
    check(
        !trace->ood,
        option,
        " ",
        dir,
        ": an out-of-distribution trace (labels -1) cannot fit a policy or "
        "choose a budget");
    check(
        (request.num_exits == 0 || trace->num_exits == request.num_exits) &&
            (request.num_classes == 0 ||
             trace->num_classes == request.num_classes),
        option,
        " ",
        dir,
        " has ",
        trace->num_exits,
        " exits and ",
        trace->num_classes,
        " classes, but the network has ",
        request.num_exits,
        " and ",
        request.num_classes);
    return trace;
  };
  const std::optional<ExitTrace> val =
      read_for_network(request.val_trace, "--val-trace");
  const std::optional<ExitTrace> train =
      read_for_network(request.train_trace, "--train-trace");
  FitTraces fit;
  fit.val = val ? &*val : nullptr;
  fit.train = train ? &*train : nullptr;
  const ExitPolicyType& type = exit_policy_type(request.policy);
  const auto maker = type.fitted(fit);
  if (request.param) {
    return maker->make(*request.param);
  }
  return maker->make(param_for_budget(
      *val, request.policy, *request.budget, request.rule, fit));
}

} // namespace sdn::analysis
