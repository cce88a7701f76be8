#include "sdn/analysis/calibration.h"

#include "sdn/analysis/exit_policy.h"
#include "sdn/util/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace sdn::analysis {

namespace {

constexpr double kTemperatureProbFloor = 1e-30;

void check_pairs(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct) {
  check(
      confidence.size() == correct.size(),
      "calibration: ",
      confidence.size(),
      " confidences but ",
      correct.size(),
      " correctness flags");
  for (size_t i = 0; i < confidence.size(); ++i) {
    check(
        confidence[i] >= 0.0F && confidence[i] <= 1.0F,
        "calibration: confidence ",
        i,
        " is ",
        confidence[i],
        ", outside [0, 1]");
  }
}

// Mean NLL of softmax(log p / T) over the samples at exit e.
double temperature_nll(
    const std::vector<double>& log_probs,
    const std::vector<int64_t>& labels,
    int64_t n,
    int64_t e_count,
    int64_t e,
    int64_t k,
    double t) {
  double total = 0;
  for (int64_t s = 0; s < n; ++s) {
    const double* row = log_probs.data() + (s * e_count + e) * k;
    double top = row[0] / t;
    for (int64_t c = 1; c < k; ++c) {
      top = std::max(top, row[c] / t);
    }
    double sum = 0;
    for (int64_t c = 0; c < k; ++c) {
      sum += std::exp(row[c] / t - top);
    }
    const int64_t y = labels[static_cast<size_t>(s)];
    total -= row[y] / t - top - std::log(sum);
  }
  return total / static_cast<double>(n);
}

} // namespace

std::vector<ReliabilityBin> reliability_bins(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins) {
  check(bins >= 1, "calibration: bins must be >= 1, got ", bins);
  check_pairs(confidence, correct);
  std::vector<ReliabilityBin> out(static_cast<size_t>(bins));
  std::vector<double> right(out.size(), 0.0);
  std::vector<double> sum(out.size(), 0.0);
  for (int64_t b = 0; b < bins; ++b) {
    out[static_cast<size_t>(b)].low = static_cast<double>(b) / bins;
    out[static_cast<size_t>(b)].high = static_cast<double>(b + 1) / bins;
  }
  for (size_t i = 0; i < confidence.size(); ++i) {
    const double c = confidence[i];
    const auto b =
        std::min<int64_t>(bins - 1, static_cast<int64_t>(std::floor(c * bins)));
    const auto at = static_cast<size_t>(b);
    ++out[at].count;
    right[at] += correct[i] != 0 ? 1.0 : 0.0;
    sum[at] += c;
  }
  for (size_t b = 0; b < out.size(); ++b) {
    if (out[b].count > 0) {
      out[b].accuracy = right[b] / static_cast<double>(out[b].count);
      out[b].confidence = sum[b] / static_cast<double>(out[b].count);
    }
  }
  return out;
}

double expected_calibration_error(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins) {
  const std::vector<ReliabilityBin> diagram =
      reliability_bins(confidence, correct, bins);
  if (confidence.empty()) {
    return 0;
  }
  double ece = 0;
  for (const ReliabilityBin& b : diagram) {
    ece += static_cast<double>(b.count) * std::fabs(b.accuracy - b.confidence);
  }
  return ece / static_cast<double>(confidence.size());
}

double ks_calibration_error(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct) {
  check_pairs(confidence, correct);
  if (confidence.empty()) {
    return 0;
  }
  std::vector<size_t> order(confidence.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return confidence[a] < confidence[b];
  });
  double running = 0;
  double worst = 0;
  for (const size_t i : order) {
    running += static_cast<double>(confidence[i]) - (correct[i] != 0 ? 1 : 0);
    worst = std::max(worst, std::fabs(running));
  }
  return worst / static_cast<double>(confidence.size());
}

CalibrationResult analyze_calibration(
    const ExitTrace& trace,
    const std::vector<double>& thresholds,
    NoExitRule rule) {
  check(
      !trace.ood,
      "calibration of an out-of-distribution trace: its labels are -1");
  const TracePredictions predictions = compute_predictions(trace);
  CalibrationResult out;
  const auto n = static_cast<size_t>(trace.num_samples);
  std::vector<float> confidence(n);
  std::vector<uint8_t> correct(n);
  for (int64_t e = 0; e < trace.num_exits; ++e) {
    for (int64_t s = 0; s < trace.num_samples; ++s) {
      confidence[static_cast<size_t>(s)] = predictions.conf(s, e);
      correct[static_cast<size_t>(s)] = predictions.is_correct(s, e) ? 1 : 0;
    }
    out.ece.push_back(expected_calibration_error(confidence, correct));
    out.ks.push_back(ks_calibration_error(confidence, correct));
    out.bins.push_back(reliability_bins(confidence, correct));
  }
  for (const double q : thresholds) {
    const ExitSimulation sim = simulate(
        trace, predictions, *make_exit_policy(kMaxProbPolicy, q), rule);
    for (int64_t s = 0; s < trace.num_samples; ++s) {
      const auto i = static_cast<size_t>(s);
      confidence[i] = predictions.conf(s, sim.answered_by[i]);
      correct[i] = predictions.is_correct(s, sim.answered_by[i]) ? 1 : 0;
    }
    out.early_exit.push_back(
        {q,
         expected_calibration_error(confidence, correct),
         ks_calibration_error(confidence, correct)});
  }
  return out;
}

std::vector<double> fit_temperatures(const ExitTrace& val) {
  check(val.num_samples > 0, "temperature scaling: the trace is empty");
  check(
      !val.ood,
      "temperature scaling: an out-of-distribution trace has no labels");
  const int64_t n = val.num_samples;
  const int64_t e_count = val.num_exits;
  const int64_t k = val.num_classes;
  std::vector<double> log_probs(val.probs.size());
  for (size_t i = 0; i < log_probs.size(); ++i) {
    log_probs[i] = std::log(
        std::max(static_cast<double>(val.probs[i]), kTemperatureProbFloor));
  }
  // The NLL is unimodal in log T for a fixed set of logits: golden-section.
  constexpr double kLow = -2.995732273553991; // ln 0.05
  constexpr double kHigh = 2.995732273553991; // ln 20
  constexpr double kTolerance = 1e-6;
  const double golden = (std::sqrt(5.0) - 1) / 2;
  std::vector<double> out;
  for (int64_t e = 0; e < e_count; ++e) {
    const auto nll = [&](double log_t) {
      return temperature_nll(
          log_probs, val.labels, n, e_count, e, k, std::exp(log_t));
    };
    double a = kLow;
    double b = kHigh;
    double c = b - golden * (b - a);
    double d = a + golden * (b - a);
    double fc = nll(c);
    double fd = nll(d);
    while (b - a > kTolerance) {
      if (fc < fd) {
        b = d;
        d = c;
        fd = fc;
        c = b - golden * (b - a);
        fc = nll(c);
      } else {
        a = c;
        c = d;
        fc = fd;
        d = a + golden * (b - a);
        fd = nll(d);
      }
    }
    // A flat objective (say, every sample one-hot and right) has no
    // preferred T: leave the exit as it is rather than report an arbitrary
    // point of the plateau.
    const double best = (a + b) / 2;
    out.push_back(nll(0.0) <= nll(best) + 1e-12 ? 1.0 : std::exp(best));
  }
  return out;
}

ExitTrace apply_temperatures(
    const ExitTrace& trace,
    const std::vector<double>& temperatures) {
  check(
      static_cast<int64_t>(temperatures.size()) == trace.num_exits,
      "temperature scaling: ",
      temperatures.size(),
      " temperatures for ",
      trace.num_exits,
      " exits");
  for (const double t : temperatures) {
    check(
        std::isfinite(t) && t > 0,
        "temperature scaling: a temperature must be > 0, got ",
        t);
  }
  ExitTrace out = trace;
  const int64_t k = trace.num_classes;
  std::vector<double> z(static_cast<size_t>(k));
  for (int64_t s = 0; s < trace.num_samples; ++s) {
    for (int64_t e = 0; e < trace.num_exits; ++e) {
      float* row = out.probs.data() + (s * trace.num_exits + e) * k;
      const double t = temperatures[static_cast<size_t>(e)];
      double top = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < k; ++c) {
        z[static_cast<size_t>(c)] =
            std::log(
                std::max(static_cast<double>(row[c]), kTemperatureProbFloor)) /
            t;
        top = std::max(top, z[static_cast<size_t>(c)]);
      }
      double sum = 0;
      for (int64_t c = 0; c < k; ++c) {
        z[static_cast<size_t>(c)] = std::exp(z[static_cast<size_t>(c)] - top);
        sum += z[static_cast<size_t>(c)];
      }
      for (int64_t c = 0; c < k; ++c) {
        row[c] = static_cast<float>(z[static_cast<size_t>(c)] / sum);
      }
    }
  }
  return out;
}

} // namespace sdn::analysis
