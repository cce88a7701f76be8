#include "sdn/analysis/ood.h"

#include "sdn/analysis/confusion.h"
#include "sdn/analysis/exit_policy.h"
#include "sdn/util/error.h"

#include <utility>

namespace sdn::analysis {

OodResult analyze_ood(
    const ExitTrace& in,
    const ExitTrace& ood,
    const std::vector<double>& thresholds,
    NoExitRule rule) {
  check(!in.ood, "the in-distribution trace is an out-of-distribution trace");
  check(
      ood.ood,
      "the OOD trace is not an out-of-distribution trace (its meta.json lacks "
      "\"ood\": true)");
  check(
      in.num_exits == ood.num_exits && in.num_classes == ood.num_classes,
      "the OOD trace has ",
      ood.num_exits,
      " exits and ",
      ood.num_classes,
      " classes, the in-distribution trace ",
      in.num_exits,
      " and ",
      in.num_classes);
  const TracePredictions pin = compute_predictions(in);
  const TracePredictions pood = compute_predictions(ood);
  // In-distribution samples first, then the OOD ones.
  std::vector<uint8_t> is_in(static_cast<size_t>(in.num_samples), 1);
  is_in.resize(static_cast<size_t>(in.num_samples + ood.num_samples), 0);
  std::vector<uint8_t> is_ood(is_in.size());
  for (size_t i = 0; i < is_in.size(); ++i) {
    is_ood[i] = is_in[i] != 0 ? 0 : 1;
  }
  std::vector<double> scores(is_in.size());
  OodResult out;
  for (int64_t e = 0; e < in.num_exits; ++e) {
    size_t i = 0;
    for (int64_t n = 0; n < in.num_samples; ++n) {
      scores[i++] = pin.conf(n, e);
    }
    for (int64_t n = 0; n < ood.num_samples; ++n) {
      scores[i++] = pood.conf(n, e);
    }
    out.auroc.push_back(auroc(scores, is_in));
  }
  for (const double q : thresholds) {
    const auto policy = make_exit_policy(kMaxProbPolicy, q);
    const ExitSimulation a = simulate(in, pin, *policy, rule);
    const ExitSimulation b = simulate(ood, pood, *policy, rule);
    size_t i = 0;
    for (int64_t n = 0; n < in.num_samples; ++n) {
      scores[i++] = pin.conf(n, a.answered_by[static_cast<size_t>(n)]);
    }
    for (int64_t n = 0; n < ood.num_samples; ++n) {
      scores[i++] = pood.conf(n, b.answered_by[static_cast<size_t>(n)]);
    }
    out.early_exit.push_back({q, auroc(scores, is_in)});
  }
  std::vector<double> confusion = raw_confusion(in);
  const std::vector<double> ood_confusion = raw_confusion(ood);
  confusion.insert(confusion.end(), ood_confusion.begin(), ood_confusion.end());
  out.confusion_auroc = auroc(confusion, is_ood);
  return out;
}

} // namespace sdn::analysis
