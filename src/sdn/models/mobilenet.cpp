// MobileNet (v1-style) as in the original `MobileNet` / `MobileNet_SDN`
// (spec 4.4). No custom init: LibTorch's module defaults equal PyTorch's.
#include "sdn/models/mobilenet.h"

#include <torch/types.h>

#include <array>

namespace sdn::models {

namespace {

/// Output channels and depthwise stride of the 13 blocks (the original cfg).
constexpr std::array<std::pair<int64_t, int64_t>, 13> kConfig = {{
    {64, 1},
    {128, 2},
    {128, 1},
    {256, 2},
    {256, 1},
    {512, 2},
    {512, 1},
    {512, 1},
    {512, 1},
    {512, 1},
    {512, 1},
    {1024, 2},
    {1024, 1},
}};
/// Stem width.
constexpr int64_t kStemWidth = 32;

} // namespace

MobileBlockImpl::MobileBlockImpl(int64_t in, int64_t out, int64_t stride) {
  using torch::nn::Conv2dOptions;
  dw_conv_ = register_module(
      "dw_conv",
      torch::nn::Conv2d(
          Conv2dOptions(in, in, 3).stride(stride).padding(1).groups(in).bias(
              false)));
  dw_bn_ = register_module("dw_bn", torch::nn::BatchNorm2d(in));
  pw_conv_ = register_module(
      "pw_conv", torch::nn::Conv2d(Conv2dOptions(in, out, 1).bias(false)));
  pw_bn_ = register_module("pw_bn", torch::nn::BatchNorm2d(out));
}

torch::Tensor MobileBlockImpl::forward(const torch::Tensor& x) {
  if (folded_) {
    return pw_conv_(dw_conv_(x).relu_()).relu_();
  }
  torch::Tensor h = dw_bn_(dw_conv_(x)).relu_();
  return pw_bn_(pw_conv_(h)).relu_();
}

void MobileBlockImpl::fold_batch_norm() {
  if (folded_) {
    return;
  }
  dw_conv_ = torch::nn::Conv2d(
      replace_module("dw_conv", fold_conv_bn(dw_conv_, dw_bn_)));
  pw_conv_ = torch::nn::Conv2d(
      replace_module("pw_conv", fold_conv_bn(pw_conv_, pw_bn_)));
  folded_ = true;
}

MobileNetImpl::MobileNetImpl(BackboneOptions options)
    : BackboneImpl(std::move(options)) {
  options_.validate();
  using torch::nn::Conv2dOptions;
  CostCounter counter;
  stem_conv_ = register_module(
      "stem_conv",
      torch::nn::Conv2d(Conv2dOptions(options_.in_channels, kStemWidth, 3)
                            .padding(1)
                            .bias(false)));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(kStemWidth));
  int64_t side = counter.conv(
      options_.in_channels,
      kStemWidth,
      options_.input_side,
      3,
      1,
      1,
      /*bias=*/false);
  counter.batch_norm(kStemWidth, side);
  counter.relu(kStemWidth * side * side);
  profile_.stem = counter.take();

  auto list = register_module("blocks", torch::nn::ModuleList());
  int64_t in = kStemWidth;
  for (const auto& [out, stride] : kConfig) {
    blocks_.emplace_back(in, out, stride);
    list->push_back(blocks_.back());
    side = counter.conv(
        in,
        in,
        side,
        3,
        stride,
        1,
        /*bias=*/false,
        /*groups=*/in);
    counter.batch_norm(in, side);
    counter.relu(in * side * side);
    counter.conv(in, out, side, 1, 1, 0, /*bias=*/false);
    counter.batch_norm(out, side);
    counter.relu(out * side * side);
    profile_.blocks.push_back(counter.take());
    profile_.features.push_back({out, side, side});
    in = out;
  }
  // The final map is 2x2 at 32 px and 4x4 at 64 px: pool it to 1x1.
  head_pool_ = side;
  fc_ = register_module("fc", torch::nn::Linear(in, options_.num_classes));
  counter.avg_pool(in, side, head_pool_);
  counter.linear(in, options_.num_classes);
  profile_.head = counter.take();
  profile_.head_features = in;
}

int64_t MobileNetImpl::num_blocks() const {
  return static_cast<int64_t>(blocks_.size());
}

torch::Tensor MobileNetImpl::stem(const torch::Tensor& x) {
  check_input(x);
  if (folded_) {
    return stem_conv_(x).relu_();
  }
  return stem_bn_(stem_conv_(x)).relu_();
}

void MobileNetImpl::fold_batch_norm() {
  if (folded_) {
    return;
  }
  stem_conv_ = torch::nn::Conv2d(
      replace_module("stem_conv", fold_conv_bn(stem_conv_, stem_bn_)));
  for (auto& b : blocks_) {
    b->fold_batch_norm();
  }
  folded_ = true;
}

std::pair<torch::Tensor, torch::Tensor> MobileNetImpl::block(
    int64_t i,
    const torch::Tensor& x) {
  profile_.check_block(i);
  torch::Tensor h = blocks_[static_cast<size_t>(i)]->forward(x);
  return {h, h};
}

torch::Tensor MobileNetImpl::head(const torch::Tensor& x) {
  return fc_(
      torch::avg_pool2d(x, {head_pool_, head_pool_}, {head_pool_, head_pool_})
          .flatten(1));
}

std::vector<int64_t> MobileNetImpl::ic_blocks() const {
  return {2, 4, 6, 8, 11};
}

std::vector<int64_t> MobileNetImpl::block_feature_shape(int64_t i) const {
  profile_.check_block(i);
  return profile_.features[static_cast<size_t>(i)];
}

int64_t MobileNetImpl::head_features() const {
  return profile_.head_features;
}

IcInit MobileNetImpl::ic_init() const {
  return IcInit::kDefault;
}

Cost MobileNetImpl::stem_cost() const {
  return profile_.stem;
}

Cost MobileNetImpl::block_cost(int64_t i) const {
  profile_.check_block(i);
  return profile_.blocks[static_cast<size_t>(i)];
}

Cost MobileNetImpl::head_cost() const {
  return profile_.head;
}

} // namespace sdn::models
