#include "sdn/analysis/backdoor.h"

#include "sdn/util/error.h"

#include <limits>

namespace sdn::analysis {

BackdoorResult analyze_backdoor(
    const ExitTrace& triggered,
    const ExitTrace& clean,
    int64_t target) {
  check(
      triggered.num_exits == clean.num_exits &&
          triggered.num_classes == clean.num_classes,
      "backdoor: the triggered trace has ",
      triggered.num_exits,
      " exits and ",
      triggered.num_classes,
      " classes but the clean trace has ",
      clean.num_exits,
      " and ",
      clean.num_classes);
  check(
      target >= 0 && target < triggered.num_classes,
      "backdoor target ",
      target,
      " is not a class in [0, ",
      triggered.num_classes,
      ")");
  BackdoorResult out;
  out.target = target;
  const TracePredictions p = compute_predictions(triggered);
  std::vector<int64_t> hits(static_cast<size_t>(triggered.num_exits), 0);
  for (int64_t n = 0; n < triggered.num_samples; ++n) {
    if (triggered.labels[static_cast<size_t>(n)] == target) {
      continue;
    }
    ++out.num_attacked;
    for (int64_t e = 0; e < triggered.num_exits; ++e) {
      hits[static_cast<size_t>(e)] += p.pred(n, e) == target ? 1 : 0;
    }
  }
  out.attack_success.resize(hits.size());
  for (size_t e = 0; e < hits.size(); ++e) {
    out.attack_success[e] = out.num_attacked > 0 ?
        100.0 * static_cast<double>(hits[e]) / out.num_attacked :
        std::numeric_limits<double>::quiet_NaN();
  }
  out.clean_accuracy = exit_accuracy(clean);
  out.triggered_accuracy = exit_accuracy(triggered);
  out.destructive = destructive_overthinking(triggered);
  return out;
}

} // namespace sdn::analysis
