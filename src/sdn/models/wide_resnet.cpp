// Wide-ResNet-32-4 as in the original `WideResNet` / `WideResNet_SDN`
// (spec 4.3), stride on the second conv and no activation after the sum.
#include "sdn/models/wide_resnet.h"

#include <torch/nn/init.h>
#include <torch/types.h>

#include <array>
#include <cmath>

namespace sdn::models {

namespace {

/// 16 * widen factor 4 per stage.
constexpr std::array<int64_t, 3> kWidths = {64, 128, 256};
/// Blocks per stage: (32 - 2) / 6.
constexpr int64_t kBlocksPerStage = 5;
/// Stem width before widening.
constexpr int64_t kStemWidth = 16;
/// The original's dropout_rate.
constexpr double kDropout = 0.3;
/// Head pooling: the last stage's 8x8 map becomes 1x1.
constexpr int64_t kHeadPool = 8;

} // namespace

WideBlockImpl::WideBlockImpl(
    int64_t in,
    int64_t out,
    int64_t stride,
    double dropout) {
  using torch::nn::Conv2dOptions;
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(in));
  conv1_ = register_module(
      "conv1",
      torch::nn::Conv2d(Conv2dOptions(in, out, 3).padding(1).bias(true)));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
  conv2_ = register_module(
      "conv2",
      torch::nn::Conv2d(
          Conv2dOptions(out, out, 3).stride(stride).padding(1).bias(true)));
  if (stride != 1 || in != out) {
    shortcut_ = register_module(
        "shortcut",
        torch::nn::Conv2d(Conv2dOptions(in, out, 1).stride(stride).bias(true)));
  }
}

torch::Tensor WideBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = conv1_(bn1_(x).relu_());
  h = folded_ ? conv2_(h.relu_()) : conv2_(bn2_(dropout_(h)).relu_());
  if (has_projection()) {
    return h.add_(shortcut_(x));
  }
  return h.add_(x);
}

void WideBlockImpl::fold_batch_norm() {
  if (folded_) {
    return;
  }
  conv1_ =
      torch::nn::Conv2d(replace_module("conv1", fold_conv_bn(conv1_, bn2_)));
  folded_ = true;
}

WideResNetImpl::WideResNetImpl(BackboneOptions options)
    : BackboneImpl(std::move(options)) {
  options_.validate();
  using torch::nn::Conv2dOptions;
  const int64_t stem_stride = options_.input_side == 64 ? 2 : 1;
  CostCounter counter;
  stem_conv_ = register_module(
      "stem_conv",
      torch::nn::Conv2d(Conv2dOptions(options_.in_channels, kStemWidth, 3)
                            .stride(stem_stride)
                            .padding(1)
                            .bias(true)));
  int64_t side = counter.conv(
      options_.in_channels,
      kStemWidth,
      options_.input_side,
      3,
      stem_stride,
      1,
      /*bias=*/true);
  profile_.stem = counter.take();

  auto list = register_module("blocks", torch::nn::ModuleList());
  int64_t in = kStemWidth;
  for (size_t stage = 0; stage < kWidths.size(); ++stage) {
    const int64_t out = kWidths[stage];
    for (int64_t b = 0; b < kBlocksPerStage; ++b) {
      const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      blocks_.emplace_back(in, out, stride, kDropout);
      list->push_back(blocks_.back());
      const int64_t in_side = side;
      counter.batch_norm(in, in_side);
      counter.relu(in * in_side * in_side);
      counter.conv(in, out, in_side, 3, 1, 1, /*bias=*/true);
      counter.batch_norm(out, in_side);
      counter.relu(out * in_side * in_side);
      side = counter.conv(out, out, in_side, 3, stride, 1, /*bias=*/true);
      if (blocks_.back()->has_projection()) {
        counter.conv(in, out, in_side, 1, stride, 0, /*bias=*/true);
      }
      profile_.blocks.push_back(counter.take());
      profile_.features.push_back({out, side, side});
      in = out;
    }
  }
  head_bn_ = register_module(
      "head_bn",
      torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(in).momentum(
          options_.wrn_head_bn_momentum)));
  fc_ = register_module("fc", torch::nn::Linear(in, options_.num_classes));
  counter.batch_norm(in, side);
  counter.relu(in * side * side);
  counter.avg_pool(in, side, kHeadPool);
  counter.linear(in, options_.num_classes);
  profile_.head = counter.take();
  profile_.head_features = in;

  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::xavier_uniform_(conv->weight, /*gain=*/std::sqrt(2.0));
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

int64_t WideResNetImpl::num_blocks() const {
  return static_cast<int64_t>(blocks_.size());
}

torch::Tensor WideResNetImpl::stem(const torch::Tensor& x) {
  check_input(x);
  return stem_conv_(x);
}

std::pair<torch::Tensor, torch::Tensor> WideResNetImpl::block(
    int64_t i,
    const torch::Tensor& x) {
  profile_.check_block(i);
  torch::Tensor h = blocks_[static_cast<size_t>(i)]->forward(x);
  return {h, h};
}

void WideResNetImpl::fold_batch_norm() {
  for (auto& b : blocks_) {
    b->fold_batch_norm();
  }
  folded_ = true;
}

torch::Tensor WideResNetImpl::head(const torch::Tensor& x) {
  torch::Tensor h = head_bn_(x).relu_();
  return fc_(
      torch::avg_pool2d(h, {kHeadPool, kHeadPool}, {kHeadPool, kHeadPool})
          .flatten(1));
}

std::vector<int64_t> WideResNetImpl::ic_blocks() const {
  return {2, 4, 6, 8, 10, 12};
}

std::vector<int64_t> WideResNetImpl::block_feature_shape(int64_t i) const {
  profile_.check_block(i);
  return profile_.features[static_cast<size_t>(i)];
}

int64_t WideResNetImpl::head_features() const {
  return profile_.head_features;
}

IcInit WideResNetImpl::ic_init() const {
  return IcInit::kDefaultZeroBias;
}

Cost WideResNetImpl::stem_cost() const {
  return profile_.stem;
}

Cost WideResNetImpl::block_cost(int64_t i) const {
  profile_.check_block(i);
  return profile_.blocks[static_cast<size_t>(i)];
}

Cost WideResNetImpl::head_cost() const {
  return profile_.head;
}

} // namespace sdn::models
