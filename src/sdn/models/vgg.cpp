// VGG-16-BN as in the original code's `VGG` / `VGG_SDN` classes (spec 4.1).
#include "sdn/models/vgg.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>
#include <torch/types.h>

#include <array>
#include <cmath>

namespace sdn::models {

namespace {

constexpr std::array<int64_t, 13> kChannels =
    {64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512};
/// Blocks followed by MaxPool2d(2) (`max_pool_sizes` == 2 in the original).
constexpr std::array<bool, 13> kPool = {
    false,
    true,
    false,
    true,
    false,
    false,
    true,
    false,
    false,
    true,
    false,
    false,
    true};
/// Dropout of the classifier (original `VGG`).
constexpr double kDropout = 0.5;

} // namespace

VggBlockImpl::VggBlockImpl(int64_t in, int64_t out, bool pool) : pool_(pool) {
  conv_ = register_module(
      "conv",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(true)));
  bn_ = register_module("bn", torch::nn::BatchNorm2d(out));
}

torch::Tensor VggBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = folded_ ? conv_(x).relu_() : bn_(conv_(x)).relu_();
  if (pool_) {
    h = torch::max_pool2d(h, {2, 2}, {2, 2});
  }
  return h;
}

void VggBlockImpl::fold_batch_norm() {
  if (folded_) {
    return;
  }
  conv_ = torch::nn::Conv2d(replace_module("conv", fold_conv_bn(conv_, bn_)));
  folded_ = true;
}

VggImpl::VggImpl(BackboneOptions options) : BackboneImpl(std::move(options)) {
  options_.validate();
  const bool tiny = options_.input_side == 64;
  const int64_t fc_a = tiny ? 2048 : 512;
  const int64_t fc_b = tiny ? 1024 : 512;

  CostCounter counter;
  profile_.stem = counter.take();
  auto list = register_module("blocks", torch::nn::ModuleList());
  int64_t in = options_.in_channels;
  int64_t side = options_.input_side;
  for (size_t i = 0; i < kChannels.size(); ++i) {
    const int64_t out = kChannels[i];
    blocks_.emplace_back(in, out, kPool[i]);
    list->push_back(blocks_.back());
    side = counter.conv(in, out, side, 3, 1, 1, /*bias=*/true);
    counter.batch_norm(out, side);
    counter.relu(out * side * side);
    if (kPool[i]) {
      side = counter.max_pool(out, side, 2);
    }
    profile_.blocks.push_back(counter.take());
    profile_.features.push_back({out, side, side});
    in = out;
  }
  const int64_t flat = in * side * side;
  fc1_ = register_module("fc1", torch::nn::Linear(flat, fc_a));
  drop1_ = register_module("drop1", torch::nn::Dropout(kDropout));
  fc2_ = register_module("fc2", torch::nn::Linear(fc_a, fc_b));
  drop2_ = register_module("drop2", torch::nn::Dropout(kDropout));
  fc3_ = register_module("fc3", torch::nn::Linear(fc_b, options_.num_classes));
  counter.linear(flat, fc_a);
  counter.relu(fc_a);
  counter.linear(fc_a, fc_b);
  counter.linear(fc_b, options_.num_classes);
  profile_.head = counter.take();
  profile_.head_features = flat;

  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      const auto& o = conv->options;
      const double fan = static_cast<double>(
          o.kernel_size()->at(0) * o.kernel_size()->at(1) * o.out_channels());
      conv->weight.normal_(0, std::sqrt(2.0 / fan));
      conv->bias.zero_();
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    } else if (auto* fc = m->as<torch::nn::Linear>()) {
      fc->weight.normal_(0, 0.01);
      fc->bias.zero_();
    }
  }
}

int64_t VggImpl::num_blocks() const {
  return static_cast<int64_t>(blocks_.size());
}

torch::Tensor VggImpl::stem(const torch::Tensor& x) {
  check_input(x);
  return x;
}

std::pair<torch::Tensor, torch::Tensor> VggImpl::block(
    int64_t i,
    const torch::Tensor& x) {
  profile_.check_block(i);
  torch::Tensor h = blocks_[static_cast<size_t>(i)]->forward(x);
  return {h, h};
}

torch::Tensor VggImpl::head(const torch::Tensor& x) {
  torch::Tensor h = fc1_(x.flatten(1)).relu_();
  h = fc2_(drop1_(h));
  return fc3_(drop2_(h));
}

void VggImpl::fold_batch_norm() {
  for (auto& b : blocks_) {
    b->fold_batch_norm();
  }
  folded_ = true;
}

std::vector<int64_t> VggImpl::ic_blocks() const {
  return {1, 3, 5, 6, 8, 9};
}

std::vector<int64_t> VggImpl::block_feature_shape(int64_t i) const {
  profile_.check_block(i);
  return profile_.features[static_cast<size_t>(i)];
}

int64_t VggImpl::head_features() const {
  return profile_.head_features;
}

IcInit VggImpl::ic_init() const {
  return IcInit::kNormal001;
}

Cost VggImpl::stem_cost() const {
  return profile_.stem;
}

Cost VggImpl::block_cost(int64_t i) const {
  profile_.check_block(i);
  return profile_.blocks[static_cast<size_t>(i)];
}

Cost VggImpl::head_cost() const {
  return profile_.head;
}

} // namespace sdn::models
