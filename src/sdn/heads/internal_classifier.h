#pragma once

#include "sdn/models/backbone.h"

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

namespace sdn::heads {

/// What an internal classifier is attached to and what it predicts.
struct InternalClassifierOptions {
  /// An IC on features of `channels` x `side` x `side` for `num_classes`.
  InternalClassifierOptions(int64_t channels, int64_t side, int64_t num_classes)
      : channels_(channels), side_(side), num_classes_(num_classes) {}
  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
  /// Channels of the features it sees.
  TORCH_ARG(int64_t, channels);
  /// Side of the (square) features it sees.
  TORCH_ARG(int64_t, side);
  /// Classes it predicts.
  TORCH_ARG(int64_t, num_classes);
  /// How the linear layer is initialised (per SDN class,
  /// docs/architecture.md#internal-classifiers).
  TORCH_ARG(models::IcInit, init) = models::IcInit::kDefault;
};

/// The reduction kernel of docs/architecture.md#internal-classifiers:
/// floor(side / 4) when side >= 4, else 0 (no reduction).
int64_t reduction_kernel(int64_t side);

/// Internal classifier (docs/architecture.md#internal-classifiers): for
/// side >= 4, mixed pooling alpha * MaxPool2d(k) + (1 - alpha) * AvgPool2d(k)
/// with one learnable, unconstrained scalar alpha ~ U[0, 1),
/// k = floor(side / 4); for side < 4 no pooling and no alpha. Then flatten
/// (channel-major) -> Linear.
class InternalClassifierImpl : public torch::nn::Module {
 public:
  /// Builds and initialises the IC (draws alpha from torch::rand).
  explicit InternalClassifierImpl(InternalClassifierOptions options);

  /// Logits [N, num_classes] from features [N, C, side, side].
  torch::Tensor forward(const torch::Tensor& x);

  /// The reduction kernel, 0 when the IC does not pool.
  int64_t kernel() const {
    return kernel_;
  }
  /// Side of the pooled features (= side when not pooling).
  int64_t pooled_side() const;
  /// Inputs of the linear layer: C * pooled_side^2.
  int64_t features() const;
  /// The mixing weight alpha, shape [1]; undefined when not pooling.
  const torch::Tensor& alpha() const {
    return alpha_;
  }
  /// The linear layer (a handle sharing the module).
  torch::nn::Linear linear() const {
    return linear_;
  }
  /// Per-image cost: ops under the profiler's rules, MACs, params.
  models::Cost cost() const;

  /// The options it was built with.
  const InternalClassifierOptions& options() const {
    return options_;
  }

 private:
  InternalClassifierOptions options_;
  int64_t kernel_ = 0;
  torch::Tensor alpha_;
  torch::nn::Linear linear_{nullptr};
};
TORCH_MODULE(InternalClassifier);

} // namespace sdn::heads
