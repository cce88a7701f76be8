// The parts of the backbone contract shared by every architecture.
#include "sdn/models/backbone.h"

#include "sdn/util/error.h"

#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>

namespace sdn::models {

void BackboneOptions::validate() const {
  const auto& names = arch_names();
  if (std::find(names.begin(), names.end(), arch) == names.end()) {
    std::string known;
    for (const auto& n : names) {
      known += (known.empty() ? "" : ", ") + n;
    }
    fail(
        "--arch: unknown architecture '",
        arch,
        "' (expected one of ",
        known,
        ")");
  }
  check(
      in_channels == 1 || in_channels == 3,
      "in_channels must be 1 or 3, got ",
      in_channels);
  check(
      input_side == 32 || input_side == 64,
      "input_side must be 32 or 64, got ",
      input_side);
  check(num_classes >= 2, "num_classes must be >= 2, got ", num_classes);
  check(
      wrn_head_bn_momentum > 0 && wrn_head_bn_momentum <= 1,
      "wrn_head_bn_momentum must be in (0, 1], got ",
      wrn_head_bn_momentum);
}

void BackboneImpl::check_input(const torch::Tensor& x) const {
  check(
      x.dim() == 4 && x.size(1) == options_.in_channels &&
          x.size(2) == options_.input_side && x.size(3) == options_.input_side,
      options_.arch,
      " expects input [N, ",
      options_.in_channels,
      ", ",
      options_.input_side,
      ", ",
      options_.input_side,
      "], got ",
      x.sizes());
}

torch::Tensor BackboneImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = stem(x);
  const int64_t n = num_blocks();
  for (int64_t i = 0; i < n; ++i) {
    h = block_output(i, h);
  }
  return head(h);
}

torch::nn::Conv2d fold_conv_bn(
    const torch::nn::Conv2d& conv,
    const torch::nn::BatchNorm2d& bn) {
  check(
      bn->running_mean.defined() && bn->running_var.defined() &&
          bn->weight.defined(),
      "fold_conv_bn: the BatchNorm needs running statistics and affine "
      "parameters");
  torch::NoGradGuard no_grad;
  const auto& source = conv->options;
  torch::nn::Conv2d folded(
      torch::nn::Conv2dOptions(
          source.in_channels(), source.out_channels(), source.kernel_size())
          .stride(source.stride())
          .padding(source.padding())
          .dilation(source.dilation())
          .groups(source.groups())
          .padding_mode(source.padding_mode())
          .bias(true));
  const auto target = conv->weight.options();
  const auto scale = bn->weight.to(torch::kFloat64) /
      (bn->running_var.to(torch::kFloat64) + bn->options.eps()).sqrt();
  auto shift = conv->bias.defined() ? conv->bias.to(torch::kFloat64) :
                                      torch::zeros_like(scale);
  shift = (shift - bn->running_mean.to(torch::kFloat64)) * scale +
      bn->bias.to(torch::kFloat64);
  folded->weight.set_data(
      (conv->weight.to(torch::kFloat64) * scale.view({-1, 1, 1, 1}))
          .to(target)
          .contiguous());
  folded->bias.set_data(shift.to(target));
  return folded;
}

} // namespace sdn::models
