// Everything backbones share: the staged run, shapes and costs traced from
// the blocks, stem and pooled head, folding, the initialisation.
#include "sdn/models/backbone.h"

#include "sdn/util/error.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>

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

BackboneImpl::BackboneImpl(
    BackboneOptions options,
    std::vector<int64_t> ic_blocks,
    IcInit ic_init)
    : options_(std::move(options)),
      ic_blocks_(std::move(ic_blocks)),
      ic_init_(ic_init) {
  options_.validate();
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

void BackboneImpl::check_block(int64_t i) const {
  check(
      i >= 0 && i < num_blocks(),
      "block index ",
      i,
      " out of range [0, ",
      num_blocks(),
      ")");
}

void BackboneImpl::check_building() const {
  check(!finished_, options_.arch, ": the backbone is already built");
}

void BackboneImpl::add_stem(int64_t width, int64_t stride, bool bn_relu) {
  check_building();
  stem_ = ConvBn(
      *this,
      "stem_conv",
      bn_relu ? "stem_bn" : "",
      torch::nn::Conv2dOptions(options_.in_channels, width, 3)
          .stride(stride)
          .padding(1)
          .bias(!bn_relu));
  stem_relu_ = bn_relu;
}

void BackboneImpl::add_block(std::shared_ptr<BlockImpl> block) {
  check_building();
  if (block_list_.is_empty()) {
    block_list_ = register_module("blocks", torch::nn::ModuleList());
  }
  block_list_->push_back(block);
  blocks_.push_back(std::move(block));
}

int64_t BackboneImpl::add_stages(
    const BlockOptions& options,
    const std::vector<int64_t>& widths,
    int64_t per_stage,
    const BlockFactory& make) {
  int64_t in = options.in_channels();
  for (size_t stage = 0; stage < widths.size(); ++stage) {
    for (int64_t b = 0; b < per_stage; ++b) {
      const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      add_block(make(BlockOptions(options)
                         .in_channels(in)
                         .out_channels(widths[stage])
                         .stride(stride)));
      in = widths[stage];
    }
  }
  return in;
}

void BackboneImpl::add_pooled_head(
    int64_t channels,
    int64_t pool,
    std::optional<torch::nn::BatchNorm2dOptions> bn) {
  check_building();
  if (bn) {
    head_bn_ = register_module("head_bn", torch::nn::BatchNorm2d(*bn));
  }
  head_pool_ = pool;
  fc_ =
      register_module("fc", torch::nn::Linear(channels, options_.num_classes));
}

torch::Tensor BackboneImpl::run_head(const torch::Tensor& x) {
  const torch::Tensor h = head_bn_.is_empty() ? x : head_bn_(x).relu_();
  return fc_(
      torch::avg_pool2d(h, {head_pool_, head_pool_}, {head_pool_, head_pool_})
          .flatten(1));
}

void BackboneImpl::trace_head(CostTrace& trace) const {
  if (!head_bn_.is_empty()) {
    trace.batch_norm(*head_bn_);
    trace.relu();
  }
  trace.avg_pool(head_pool_);
  trace.flatten();
  trace.linear(*fc_);
}

void BackboneImpl::finish(WeightInit init) {
  check_building();
  finished_ = true;
  CostTrace trace(options_.in_channels, options_.input_side);
  if (stem_.defined()) {
    stem_.trace(trace);
    if (stem_relu_) {
      trace.relu();
    }
  }
  stem_cost_ = trace.take();
  for (const auto& block : blocks_) {
    block->trace(trace);
    block_costs_.push_back(trace.take());
    features_.push_back(trace.shape());
  }
  trace_head(trace);
  head_cost_ = trace.take();
  head_features_ = trace.flattened();

  if (init == WeightInit::kDefault) {
    return;
  }
  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      const auto& o = conv->options;
      if (init == WeightInit::kNormalFanOut) {
        const double fan = static_cast<double>(
            o.kernel_size()->at(0) * o.kernel_size()->at(1) * o.out_channels());
        conv->weight.normal_(0, std::sqrt(2.0 / fan));
      } else if (init == WeightInit::kKaimingNormalFanOut) {
        torch::nn::init::kaiming_normal_(
            conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
      } else {
        torch::nn::init::xavier_uniform_(conv->weight, /*gain=*/std::sqrt(2.0));
      }
      if (conv->bias.defined()) {
        conv->bias.zero_();
      }
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    } else if (auto* fc = m->as<torch::nn::Linear>()) {
      fc->weight.normal_(0, 0.01);
      fc->bias.zero_();
    }
  }
}

int64_t BackboneImpl::num_blocks() const {
  return static_cast<int64_t>(blocks_.size());
}

torch::Tensor BackboneImpl::stem(const torch::Tensor& x) {
  check_input(x);
  if (!stem_.defined()) {
    return x;
  }
  return stem_relu_ ? stem_(x).relu_() : stem_(x);
}

std::pair<torch::Tensor, torch::Tensor> BackboneImpl::block(
    int64_t i,
    const torch::Tensor& x) {
  check_block(i);
  return blocks_[static_cast<size_t>(i)]->forward_with_features(x);
}

torch::Tensor BackboneImpl::block_output(int64_t i, const torch::Tensor& x) {
  check_block(i);
  return blocks_[static_cast<size_t>(i)]->forward(x);
}

torch::Tensor BackboneImpl::head(const torch::Tensor& x) {
  return run_head(x);
}

void BackboneImpl::fold_batch_norm() {
  if (folded_) {
    return;
  }
  // The stem first, then the blocks in order: the draws of the new
  // convolutions keep the order they always had.
  stem_.fold();
  for (auto& block : blocks_) {
    block->fold_batch_norm();
  }
  folded_ = true;
}

std::vector<int64_t> BackboneImpl::block_feature_shape(int64_t i) const {
  check_block(i);
  return features_[static_cast<size_t>(i)];
}

Cost BackboneImpl::block_cost(int64_t i) const {
  check_block(i);
  return block_costs_[static_cast<size_t>(i)];
}

torch::Tensor BackboneImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = stem(x);
  const int64_t n = num_blocks();
  for (int64_t i = 0; i < n; ++i) {
    h = block_output(i, h);
  }
  return head(h);
}

} // namespace sdn::models
