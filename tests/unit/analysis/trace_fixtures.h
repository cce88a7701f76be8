#pragma once

// Small hand-made exit traces shared by the analysis tests. Each is written
// out row by row so the expected figures in the tests can be worked out by
// hand from the comments.

#include "sdn/analysis/exit_trace.h"
#include "temp_dir.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace sdn::analysis::fixtures {

/// A trace from rows[n][e] = the K probabilities of sample n at exit e.
inline ExitTrace make_trace(
    const std::vector<std::vector<std::vector<float>>>& rows,
    const std::vector<int64_t>& labels,
    const std::vector<double>& exit_cost) {
  ExitTrace t;
  t.num_samples = static_cast<int64_t>(rows.size());
  t.num_exits = static_cast<int64_t>(rows.front().size());
  t.num_classes = static_cast<int64_t>(rows.front().front().size());
  for (const auto& sample : rows) {
    for (const auto& exit : sample) {
      t.probs.insert(t.probs.end(), exit.begin(), exit.end());
    }
  }
  t.labels = labels;
  t.exit_cost = exit_cost;
  t.split = "test";
  t.checkpoint = "hand-made";
  return t;
}

/// Trace A: 4 samples, exits IC1, IC2, final, 3 classes,
/// exit_cost {0.3, 0.6, 1.05}. Correct at (IC1, IC2, final):
///   s0 label 0: [1 1 1], confidences .9 .8 .7
///   s1 label 1: [0 1 1], confidences .5 .7 .8   (IC1 says 0)
///   s2 label 2: [0 1 0], confidences .4 .4 .6   (IC1 and final say 0)
///   s3 label 1: [1 0 0], confidences .6 .35 .5  (IC2: tie .35 of classes 0
///                                               and 2 -> 0; final says 0)
inline ExitTrace trace_a() {
  return make_trace(
      {{{0.9F, 0.05F, 0.05F}, {0.8F, 0.1F, 0.1F}, {0.7F, 0.2F, 0.1F}},
       {{0.5F, 0.4F, 0.1F}, {0.2F, 0.7F, 0.1F}, {0.1F, 0.8F, 0.1F}},
       {{0.4F, 0.3F, 0.3F}, {0.3F, 0.3F, 0.4F}, {0.6F, 0.2F, 0.2F}},
       {{0.2F, 0.6F, 0.2F}, {0.35F, 0.3F, 0.35F}, {0.5F, 0.45F, 0.05F}}},
      {0, 1, 2, 1},
      {0.3, 0.6, 1.05});
}

/// Trace C: 5 samples, exits IC1, IC2, final, 2 classes,
/// exit_cost {0.2, 0.5, 1.1}. Correct at (IC1, IC2, final):
///   c0 label 0: [0 0 1]
///   c1 label 1: [1 1 0]  IC confidences .6, .75
///   c2 label 0: [0 1 0]  IC2 confidence .7
///   c3 label 1: [1 0 0]  IC1 confidence .8
///   c4 label 0: [0 0 0]
inline ExitTrace trace_c() {
  return make_trace(
      {{{0.3F, 0.7F}, {0.4F, 0.6F}, {0.9F, 0.1F}},
       {{0.4F, 0.6F}, {0.25F, 0.75F}, {0.8F, 0.2F}},
       {{0.1F, 0.9F}, {0.7F, 0.3F}, {0.35F, 0.65F}},
       {{0.2F, 0.8F}, {0.6F, 0.4F}, {0.9F, 0.1F}},
       {{0.45F, 0.55F}, {0.3F, 0.7F}, {0.2F, 0.8F}}},
      {0, 1, 0, 1, 0},
      {0.2, 0.5, 1.1});
}

/// A seeded random trace: softmax of N(0, scale) logits with the label's
/// logit raised by `boost` (so exits are right more often than chance).
inline ExitTrace random_trace(
    int64_t n,
    int64_t e,
    int64_t k,
    uint32_t seed,
    double boost = 1.5) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int64_t> label_dist(0, k - 1);
  ExitTrace t;
  t.num_samples = n;
  t.num_exits = e;
  t.num_classes = k;
  for (int64_t s = 0; s < n; ++s) {
    const int64_t y = label_dist(rng);
    t.labels.push_back(y);
    for (int64_t x = 0; x < e; ++x) {
      std::vector<double> logits(static_cast<size_t>(k));
      double sum = 0;
      for (int64_t c = 0; c < k; ++c) {
        const double scale = 1.0 + static_cast<double>(x);
        logits[static_cast<size_t>(c)] =
            std::exp(scale * (normal(rng) + (c == y ? boost : 0.0)));
        sum += logits[static_cast<size_t>(c)];
      }
      for (const double v : logits) {
        t.probs.push_back(static_cast<float>(v / sum));
      }
    }
  }
  for (int64_t x = 0; x < e; ++x) {
    // ICs at the paper's nominal 15 % steps; the final slightly above the
    // last IC (1.01 for six ICs).
    t.exit_cost.push_back(
        x + 1 == e ? 0.15 * static_cast<double>(x) + 0.11 :
                     0.15 * static_cast<double>(x + 1));
  }
  t.split = "test";
  t.checkpoint = "random";
  return t;
}

/// A fresh, empty temporary directory for one test (unique per process).
inline std::string temp_dir(const std::string& name) {
  return sdn::testing::unique_temp_dir("analysis_" + name);
}

} // namespace sdn::analysis::fixtures
