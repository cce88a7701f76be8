#include "sdn/analysis/confusion.h"

#include "sdn/util/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace sdn::analysis {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Fills the means, spread, AUROC and FNR of `scores` (means) and
// `detect` (the score that should be high on wrong samples).
DetectorSummary summarize(
    const std::vector<double>& scores,
    const std::vector<double>& detect,
    const std::vector<uint8_t>& wrong) {
  DetectorSummary out;
  double sum_correct = 0;
  double sum_wrong = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (wrong[i]) {
      sum_wrong += scores[i];
      ++out.num_wrong;
    } else {
      sum_correct += scores[i];
      ++out.num_correct;
    }
  }
  out.mean_correct = out.num_correct > 0 ? sum_correct / out.num_correct : kNaN;
  out.mean_wrong = out.num_wrong > 0 ? sum_wrong / out.num_wrong : kNaN;
  const ScoreStats all = score_stats(scores);
  out.mean = all.mean;
  out.std = all.std;
  out.flag_rate = scores.empty() ?
      0.0 :
      static_cast<double>(out.num_wrong) / static_cast<double>(scores.size());
  out.auroc = auroc(detect, wrong);
  out.fnr = fnr_at_flag_rate(detect, wrong, out.flag_rate);
  return out;
}

std::vector<uint8_t> final_wrong(const ExitTrace& trace) {
  std::vector<uint8_t> out(static_cast<size_t>(trace.num_samples));
  const int64_t last = trace.final_exit();
  for (int64_t n = 0; n < trace.num_samples; ++n) {
    out[static_cast<size_t>(n)] =
        trace.prediction(n, last) != trace.labels[static_cast<size_t>(n)];
  }
  return out;
}

} // namespace

std::vector<double> raw_confusion(const ExitTrace& trace) {
  std::vector<double> out(static_cast<size_t>(trace.num_samples), 0.0);
  const int64_t last = trace.final_exit();
  for (int64_t n = 0; n < trace.num_samples; ++n) {
    const float* final_probs = trace.probs_at(n, last);
    double total = 0;
    for (int64_t e = 0; e < last; ++e) {
      const float* p = trace.probs_at(n, e);
      for (int64_t k = 0; k < trace.num_classes; ++k) {
        total += std::fabs(
            static_cast<double>(final_probs[k]) - static_cast<double>(p[k]));
      }
    }
    out[static_cast<size_t>(n)] = total;
  }
  return out;
}

ScoreStats score_stats(const std::vector<double>& scores) {
  ScoreStats out;
  if (scores.empty()) {
    return out;
  }
  const double n = static_cast<double>(scores.size());
  out.mean = std::accumulate(scores.begin(), scores.end(), 0.0) / n;
  double sq = 0;
  for (const double s : scores) {
    sq += (s - out.mean) * (s - out.mean);
  }
  out.std = std::sqrt(sq / n);
  return out;
}

double auroc(
    const std::vector<double>& scores,
    const std::vector<uint8_t>& positive) {
  check(
      scores.size() == positive.size(),
      "auroc: ",
      scores.size(),
      " scores but ",
      positive.size(),
      " labels");
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return scores[a] < scores[b];
  });
  // Mid-ranks for ties give the Mann-Whitney U with ties counted as 0.5.
  double rank_sum = 0;
  int64_t n_pos = 0;
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    while (j + 1 < order.size() && scores[order[j + 1]] == scores[order[i]]) {
      ++j;
    }
    const double mid_rank = (static_cast<double>(i + j) / 2.0) + 1.0;
    for (size_t t = i; t <= j; ++t) {
      if (positive[order[t]]) {
        rank_sum += mid_rank;
        ++n_pos;
      }
    }
    i = j + 1;
  }
  const int64_t n_neg = static_cast<int64_t>(scores.size()) - n_pos;
  if (n_pos == 0 || n_neg == 0) {
    return kNaN;
  }
  const double p = static_cast<double>(n_pos);
  const double u = rank_sum - p * (p + 1.0) / 2.0;
  return u / (p * static_cast<double>(n_neg));
}

double fnr_at_flag_rate(
    const std::vector<double>& scores,
    const std::vector<uint8_t>& positive,
    double flag_rate) {
  check(
      scores.size() == positive.size(),
      "fnr: ",
      scores.size(),
      " scores but ",
      positive.size(),
      " labels");
  check(
      flag_rate >= 0 && flag_rate <= 1,
      "fnr: flag rate must lie in [0, 1], got ",
      flag_rate);
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return scores[a] > scores[b];
  });
  const size_t flagged = static_cast<size_t>(
      std::llround(flag_rate * static_cast<double>(scores.size())));
  int64_t n_pos = 0;
  int64_t missed = 0;
  for (size_t r = 0; r < order.size(); ++r) {
    if (positive[order[r]]) {
      ++n_pos;
      missed += r >= flagged ? 1 : 0;
    }
  }
  return n_pos > 0 ? static_cast<double>(missed) / n_pos : kNaN;
}

Histogram histogram(
    const std::vector<double>& scores,
    const std::vector<uint8_t>& wrong,
    int64_t bins) {
  check(bins >= 1, "histogram needs at least 1 bin, got ", bins);
  check(scores.size() == wrong.size(), "histogram: sizes differ");
  Histogram out;
  out.correct.assign(static_cast<size_t>(bins), 0);
  out.wrong.assign(static_cast<size_t>(bins), 0);
  double lo = 0;
  double hi = 1;
  if (!scores.empty()) {
    lo = *std::min_element(scores.begin(), scores.end());
    hi = *std::max_element(scores.begin(), scores.end());
  }
  if (hi <= lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const double width = (hi - lo) / static_cast<double>(bins);
  for (int64_t b = 0; b <= bins; ++b) {
    out.edges.push_back(b == bins ? hi : lo + width * static_cast<double>(b));
  }
  for (size_t i = 0; i < scores.size(); ++i) {
    int64_t b = static_cast<int64_t>((scores[i] - lo) / width);
    b = std::min(std::max(b, int64_t{0}), bins - 1);
    // Floating rounding may put a value on the wrong side of an edge.
    while (b > 0 && scores[i] < out.edges[static_cast<size_t>(b)]) {
      --b;
    }
    while (b < bins - 1 && scores[i] >= out.edges[static_cast<size_t>(b + 1)]) {
      ++b;
    }
    (wrong[i] ? out.wrong : out.correct)[static_cast<size_t>(b)] += 1;
  }
  return out;
}

ConfusionResult analyze_confusion(
    const ExitTrace& test,
    const ExitTrace* train,
    const ExitTrace* cnn) {
  check(
      test.num_exits >= 2,
      "confusion needs an SDN trace with internal classifiers; the trace has ",
      test.num_exits,
      " exit(s)");
  ConfusionResult out;
  const std::vector<double> raw = raw_confusion(test);
  if (train != nullptr) {
    check(
        train->num_exits == test.num_exits &&
            train->num_classes == test.num_classes,
        "confusion: the train trace has ",
        train->num_exits,
        " exits and ",
        train->num_classes,
        " classes but the test trace has ",
        test.num_exits,
        " and ",
        test.num_classes);
    out.normalized_with = "train";
    out.normalization = score_stats(raw_confusion(*train));
  } else {
    out.normalized_with = "test";
    out.normalization = score_stats(raw);
  }
  // A constant score cannot be scaled; centring alone keeps the ranking.
  const double scale = out.normalization.std > 0 ? out.normalization.std : 1;
  out.normalized.resize(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    out.normalized[i] = (raw[i] - out.normalization.mean) / scale;
  }
  const std::vector<uint8_t> wrong = final_wrong(test);
  out.detector = summarize(out.normalized, out.normalized, wrong);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (!wrong[i] && out.normalized[i] > out.detector.mean_wrong) {
      ++out.correct_above_wrong_mean;
    }
    if (wrong[i] && out.normalized[i] < out.detector.mean_correct) {
      ++out.wrong_below_correct_mean;
    }
  }
  out.histogram = histogram(out.normalized, wrong, kConfusionBins);

  const ExitTrace& conf_trace = cnn != nullptr ? *cnn : test;
  if (cnn != nullptr) {
    check(
        cnn->num_samples == test.num_samples &&
            cnn->num_classes == test.num_classes && cnn->labels == test.labels,
        "confusion: the CNN trace must cover the same samples as the SDN "
        "trace (same N, classes and labels); it has ",
        cnn->num_samples,
        " samples and ",
        cnn->num_classes,
        " classes vs ",
        test.num_samples,
        " and ",
        test.num_classes);
  }
  out.confidence.source = cnn != nullptr ? "cnn" : "sdn_final";
  const int64_t last = conf_trace.final_exit();
  std::vector<double> conf(static_cast<size_t>(conf_trace.num_samples));
  std::vector<double> doubt(conf.size());
  for (int64_t n = 0; n < conf_trace.num_samples; ++n) {
    const size_t i = static_cast<size_t>(n);
    conf[i] = conf_trace.confidence(n, last);
    doubt[i] = 1.0 - conf[i];
  }
  const std::vector<uint8_t> conf_wrong = final_wrong(conf_trace);
  out.confidence.detector = summarize(conf, doubt, conf_wrong);
  for (size_t i = 0; i < conf.size(); ++i) {
    if (!conf_wrong[i] && conf[i] < out.confidence.detector.mean_wrong) {
      ++out.confidence.correct_below_wrong_mean;
    }
    if (conf_wrong[i] && conf[i] > out.confidence.detector.mean_correct) {
      ++out.confidence.wrong_above_correct_mean;
    }
  }
  return out;
}

} // namespace sdn::analysis
