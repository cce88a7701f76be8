#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

namespace sdn::inference {

/// Decides, at an internal classifier, which samples leave the network.
/// A new policy is one subclass (and one test).
class ExitPolicy {
 public:
  virtual ~ExitPolicy() = default;
  /// Given the softmax probabilities [B, K] at an IC, returns a bool mask [B]
  /// of the samples that exit there.
  virtual torch::Tensor exit_mask(const torch::Tensor& probs) const = 0;
  /// A short description, e.g. "max-softmax >= 0.9".
  virtual std::string describe() const = 0;
};

/// The paper's rule: exit when the top softmax probability is at least q.
class MaxProbabilityPolicy : public ExitPolicy {
 public:
  /// Throws sdn::Error unless 0 <= threshold <= 1.
  explicit MaxProbabilityPolicy(double threshold);
  torch::Tensor exit_mask(const torch::Tensor& probs) const override;
  std::string describe() const override;
  double threshold() const {
    return threshold_;
  }

 private:
  double threshold_;
};

/// Exit when the normalised entropy of the softmax (entropy / log K, in
/// [0,1]) is at most `max_entropy` (beyond the paper).
class EntropyPolicy : public ExitPolicy {
 public:
  /// Throws sdn::Error unless 0 <= max_entropy <= 1.
  explicit EntropyPolicy(double max_entropy);
  torch::Tensor exit_mask(const torch::Tensor& probs) const override;
  std::string describe() const override;

 private:
  double max_entropy_;
};

} // namespace sdn::inference
