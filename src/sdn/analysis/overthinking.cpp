#include "sdn/analysis/overthinking.h"

#include <limits>

namespace sdn::analysis {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

} // namespace

std::vector<double> nominal_ic_costs() {
  return {0.15, 0.30, 0.45, 0.60, 0.75, 0.90};
}

std::vector<int64_t> first_correct_exit(const ExitTrace& trace) {
  const TracePredictions p = compute_predictions(trace);
  std::vector<int64_t> out(static_cast<size_t>(trace.num_samples), -1);
  for (int64_t n = 0; n < trace.num_samples; ++n) {
    for (int64_t e = 0; e < trace.num_exits; ++e) {
      if (p.is_correct(n, e)) {
        out[static_cast<size_t>(n)] = e;
        break;
      }
    }
  }
  return out;
}

std::vector<int64_t> destructive_samples(const ExitTrace& trace) {
  std::vector<int64_t> out;
  const TracePredictions p = compute_predictions(trace);
  const int64_t last = trace.final_exit();
  for (int64_t n = 0; n < trace.num_samples; ++n) {
    if (p.is_correct(n, last)) {
      continue;
    }
    for (int64_t e = 0; e < last; ++e) {
      if (p.is_correct(n, e)) {
        out.push_back(n);
        break;
      }
    }
  }
  return out;
}

std::vector<int64_t> only_first_ic_correct(const ExitTrace& trace) {
  std::vector<int64_t> out;
  if (trace.num_ics() < 1) {
    return out;
  }
  const TracePredictions p = compute_predictions(trace);
  for (int64_t n = 0; n < trace.num_samples; ++n) {
    if (!p.is_correct(n, 0)) {
      continue;
    }
    bool later = false;
    for (int64_t e = 1; e < trace.num_exits && !later; ++e) {
      later = p.is_correct(n, e);
    }
    if (!later) {
      out.push_back(n);
    }
  }
  return out;
}

WastefulResult wasteful_overthinking(const ExitTrace& trace) {
  const TracePredictions p = compute_predictions(trace);
  const std::vector<int64_t> first = first_correct_exit(trace);
  const int64_t n_exits = trace.num_exits;
  const int64_t n_ics = trace.num_ics();
  WastefulResult out;
  out.per_exit.resize(static_cast<size_t>(n_exits));
  for (int64_t n = 0; n < trace.num_samples; ++n) {
    const int64_t f = first[static_cast<size_t>(n)];
    for (int64_t e = 0; e < n_exits; ++e) {
      WastefulExit& w = out.per_exit[static_cast<size_t>(e)];
      w.correct += p.is_correct(n, e) ? 1 : 0;
      w.cumulative_correct += (f >= 0 && f <= e) ? 1 : 0;
      w.first_correct += f == e ? 1 : 0;
    }
  }
  const std::vector<double> nominal = nominal_ic_costs();
  const bool has_nominal = n_ics <= static_cast<int64_t>(nominal.size());
  double nominal_total = 0;
  double measured_total = 0;
  int64_t ic_right = 0;
  for (int64_t n = 0; n < trace.num_samples; ++n) {
    const int64_t f = first[static_cast<size_t>(n)];
    const bool at_ic = f >= 0 && f < n_ics;
    ic_right += at_ic ? 1 : 0;
    if (has_nominal) {
      nominal_total += at_ic ? nominal[static_cast<size_t>(f)] : 1.0;
    }
    measured_total += f >= 0 ? trace.exit_cost[static_cast<size_t>(f)] :
                               trace.exit_cost.back();
  }
  const double n_samples = static_cast<double>(trace.num_samples);
  if (has_nominal) {
    out.oracle_cost_nominal = nominal_total / n_samples;
  }
  out.oracle_cost_measured = measured_total / n_samples;
  out.ic_correct_fraction = static_cast<double>(ic_right) / n_samples;
  return out;
}

DestructiveResult destructive_overthinking(const ExitTrace& trace) {
  const TracePredictions p = compute_predictions(trace);
  const int64_t last = trace.final_exit();
  const int64_t n_ics = trace.num_ics();
  DestructiveResult out;
  out.per_exit.resize(static_cast<size_t>(n_ics));
  std::vector<double> sum_wrong_final(static_cast<size_t>(n_ics), 0.0);
  std::vector<double> sum_correct(static_cast<size_t>(n_ics), 0.0);
  std::vector<int64_t> n_correct(static_cast<size_t>(n_ics), 0);
  for (int64_t n = 0; n < trace.num_samples; ++n) {
    const bool final_wrong = !p.is_correct(n, last);
    out.wrong_final += final_wrong ? 1 : 0;
    bool rescued = false;
    for (int64_t e = 0; e < n_ics; ++e) {
      if (!p.is_correct(n, e)) {
        continue;
      }
      const size_t i = static_cast<size_t>(e);
      const double conf = p.conf(n, e);
      sum_correct[i] += conf;
      ++n_correct[i];
      if (final_wrong) {
        sum_wrong_final[i] += conf;
        ++out.per_exit[i].count;
        rescued = true;
      }
    }
    out.rescued += rescued ? 1 : 0;
  }
  for (size_t i = 0; i < out.per_exit.size(); ++i) {
    DestructiveExit& d = out.per_exit[i];
    d.mean_confidence = d.count > 0 ? sum_wrong_final[i] / d.count : kNaN;
    d.mean_confidence_all_correct =
        n_correct[i] > 0 ? sum_correct[i] / n_correct[i] : kNaN;
  }
  out.rate = out.wrong_final > 0 ?
      static_cast<double>(out.rescued) / out.wrong_final :
      kNaN;
  return out;
}

} // namespace sdn::analysis
