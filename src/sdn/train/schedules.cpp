#include "sdn/train/schedules.h"

#include "sdn/util/error.h"

#include <algorithm>
#include <cmath>

namespace sdn::train {

const std::vector<double>& paper_ic_weight_caps() {
  static const std::vector<double> caps = {0.15, 0.30, 0.45, 0.60, 0.75, 0.90};
  return caps;
}

double lr_at_epoch(
    double base,
    const std::vector<int64_t>& milestones,
    double gamma,
    int64_t epoch) {
  double lr = base;
  for (const int64_t m : milestones) {
    if (m <= epoch) {
      lr *= gamma;
    }
  }
  // The original rounds every scheduled value to 8 decimals.
  return std::round(lr * 1e8) / 1e8;
}

std::vector<double> ic_weights_at_epoch(
    int64_t epoch,
    int64_t total_epochs,
    int64_t num_ics) {
  const auto& caps = paper_ic_weight_caps();
  check(
      num_ics >= 0 && num_ics <= static_cast<int64_t>(caps.size()),
      "IC weight schedule supports up to ",
      caps.size(),
      " ICs, got ",
      num_ics);
  check(total_epochs > 0, "epochs must be > 0, got ", total_epochs);
  std::vector<double> weights;
  for (int64_t i = 0; i < num_ics; ++i) {
    const double cap = caps[static_cast<size_t>(i)];
    weights.push_back(std::min(
        cap,
        0.01 +
            static_cast<double>(epoch) * cap /
                static_cast<double>(total_epochs)));
  }
  return weights;
}

double warmup_factor(int64_t step, int64_t warmup_steps) {
  if (warmup_steps <= 0 || step >= warmup_steps) {
    return 1.0;
  }
  return static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
}

double cosine_factor(int64_t step, int64_t total_steps) {
  check(
      step >= 0 && total_steps > 0,
      "cosine_factor: step ",
      step,
      " of ",
      total_steps);
  const double at = std::min(
      1.0, static_cast<double>(step) / static_cast<double>(total_steps));
  return 0.5 * (1.0 + std::cos(M_PI * at));
}

} // namespace sdn::train
