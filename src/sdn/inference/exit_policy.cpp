#include "sdn/inference/exit_policy.h"

#include "sdn/util/error.h"

#include <torch/torch.h>

#include <cmath>

namespace sdn::inference {

MaxProbabilityPolicy::MaxProbabilityPolicy(double threshold)
    : threshold_(threshold) {
  check(
      threshold >= 0 && threshold <= 1,
      "--threshold must be in [0,1], got ",
      threshold);
}

torch::Tensor MaxProbabilityPolicy::exit_mask(
    const torch::Tensor& probs) const {
  // Compare in float32 like the trace simulation, which reads float32 probs.
  return std::get<0>(probs.max(/*dim=*/1)).ge(static_cast<float>(threshold_));
}

std::string MaxProbabilityPolicy::describe() const {
  return str_cat("max-softmax >= ", threshold_);
}

EntropyPolicy::EntropyPolicy(double max_entropy) : max_entropy_(max_entropy) {
  check(
      max_entropy >= 0 && max_entropy <= 1,
      "--max-entropy must be in [0,1], got ",
      max_entropy);
}

torch::Tensor EntropyPolicy::exit_mask(const torch::Tensor& probs) const {
  const double log_k = std::log(static_cast<double>(probs.size(1)));
  const auto entropy =
      -(probs * probs.clamp_min(1e-30).log()).sum(/*dim=*/1) / log_k;
  return entropy.le(max_entropy_);
}

std::string EntropyPolicy::describe() const {
  return str_cat("normalised entropy <= ", max_entropy_);
}

} // namespace sdn::inference
