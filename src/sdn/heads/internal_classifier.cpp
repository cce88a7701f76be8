// The internal classifier of the original `aux_funcs.InternalClassifier`.
#include "sdn/heads/internal_classifier.h"

#include "sdn/heads/max_avg_pool.h"

#include "sdn/models/cost.h"
#include "sdn/util/error.h"

#include <torch/nn/functional/pooling.h>

#include <tuple>

namespace sdn::heads {

namespace {

/// Pooled ICs reduce every feature map to this side (for s = 4, 8, 16, 32).
constexpr int64_t kTargetSide = 4;

} // namespace

void InternalClassifierOptions::validate() const {
  check(channels_ >= 1, "IC channels must be >= 1, got ", channels_);
  check(side_ >= 1, "IC side must be >= 1, got ", side_);
  check(num_classes_ >= 1, "IC num_classes must be >= 1, got ", num_classes_);
}

int64_t reduction_kernel(int64_t side) {
  return side >= kTargetSide ? side / kTargetSide : 0;
}

InternalClassifierImpl::InternalClassifierImpl(
    InternalClassifierOptions options)
    : options_(options) {
  options_.validate();
  kernel_ = reduction_kernel(options_.side());
  if (kernel_ > 0) {
    // The original draws torch.rand(1); its alpha=0.5 argument is dead.
    alpha_ = register_parameter("alpha", torch::rand({1}));
  }
  linear_ = register_module(
      "linear", torch::nn::Linear(features(), options_.num_classes()));
  torch::NoGradGuard no_grad;
  switch (options_.init()) {
    case models::IcInit::kNormal001:
      linear_->weight.normal_(0, 0.01);
      linear_->bias.zero_();
      break;
    case models::IcInit::kDefaultZeroBias:
      linear_->bias.zero_();
      break;
    case models::IcInit::kDefault:
      break;
  }
}

int64_t InternalClassifierImpl::pooled_side() const {
  return kernel_ > 0 ? options_.side() / kernel_ : options_.side();
}

int64_t InternalClassifierImpl::features() const {
  const int64_t s = pooled_side();
  return options_.channels() * s * s;
}

torch::Tensor InternalClassifierImpl::forward(const torch::Tensor& x) {
  check(
      x.dim() == 4 && x.size(1) == options_.channels() &&
          x.size(2) == options_.side() && x.size(3) == options_.side(),
      "internal classifier expects features [N, ",
      options_.channels(),
      ", ",
      options_.side(),
      ", ",
      options_.side(),
      "], got ",
      x.sizes());
  if (kernel_ == 0) {
    return linear_(x.flatten(1));
  }
  torch::Tensor max_pooled = x;
  torch::Tensor avg_pooled = x;
  if (kernel_ > 1) {
    // Kernel 1 pools are identities (side 4): skip the two copies.
    // Both pools in one pass over x (and one over its gradient) on CPU.
    std::tie(max_pooled, avg_pooled) = max_avg_pool(x, kernel_);
  }
  // alpha * max + (1 - alpha) * avg in one kernel.
  return linear_(torch::lerp(avg_pooled, max_pooled, alpha_).flatten(1));
}

models::Cost InternalClassifierImpl::cost() const {
  models::CostCounter counter;
  if (kernel_ > 0) {
    counter.max_pool(options_.channels(), options_.side(), kernel_);
    counter.avg_pool(options_.channels(), options_.side(), kernel_);
    counter.add_params(1);
  }
  counter.linear(features(), options_.num_classes());
  return counter.total();
}

} // namespace sdn::heads
