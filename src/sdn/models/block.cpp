// What every backbone block is made of: options, conv + BN pairs, folding.
#include "sdn/models/block.h"

#include "sdn/util/error.h"

#include <torch/types.h>
#include <torch/utils.h>

namespace sdn::models {

void BlockOptions::validate() const {
  check(
      in_channels_ >= 1 && out_channels_ >= 1,
      "block channels must be >= 1, got ",
      in_channels_,
      " -> ",
      out_channels_);
  check(stride_ >= 1, "block stride must be >= 1, got ", stride_);
  check(
      dropout_ >= 0 && dropout_ < 1,
      "block dropout must be in [0, 1), got ",
      dropout_);
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

ConvBn::ConvBn(
    torch::nn::Module& owner,
    std::string conv_name,
    const std::string& bn_name,
    const torch::nn::Conv2dOptions& options)
    : owner_(&owner), conv_name_(std::move(conv_name)) {
  conv_ = owner.register_module(conv_name_, torch::nn::Conv2d(options));
  if (!bn_name.empty()) {
    bn_ = owner.register_module(
        bn_name, torch::nn::BatchNorm2d(options.out_channels()));
  }
}

torch::Tensor ConvBn::operator()(const torch::Tensor& x) {
  return folded_ || bn_.is_empty() ? conv_(x) : bn_(conv_(x));
}

void ConvBn::fold() {
  if (folded_ || bn_.is_empty()) {
    return;
  }
  conv_ = torch::nn::Conv2d(
      owner_->replace_module(conv_name_, fold_conv_bn(conv_, bn_)));
  folded_ = true;
}

void ConvBn::trace(CostTrace& trace) const {
  trace.conv(*conv_);
  if (!bn_.is_empty()) {
    trace.batch_norm(*bn_);
  }
}

std::pair<torch::Tensor, torch::Tensor> BlockImpl::forward_with_features(
    const torch::Tensor& x) {
  torch::Tensor h = forward(x);
  return {h, h};
}

} // namespace sdn::models
