// ResNet-56 as in the original code's `ResNet` / `ResNet_SDN` (spec 4.2).
#include "sdn/models/resnet.h"

#include <torch/nn/init.h>
#include <torch/types.h>

#include <array>

namespace sdn::models {

namespace {

constexpr std::array<int64_t, 3> kWidths = {16, 32, 64};
/// BasicBlocks per stage: ResNet-56 = 6 * 9 + 2 layers.
constexpr int64_t kBlocksPerStage = 9;
/// Head pooling: the last stage's 8x8 map becomes 1x1.
constexpr int64_t kHeadPool = 8;

} // namespace

ResNetBlockImpl::ResNetBlockImpl(int64_t in, int64_t out, int64_t stride) {
  using torch::nn::Conv2dOptions;
  conv1_ = register_module(
      "conv1",
      torch::nn::Conv2d(
          Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out));
  conv2_ = register_module(
      "conv2",
      torch::nn::Conv2d(Conv2dOptions(out, out, 3).padding(1).bias(false)));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
  if (stride != 1 || in != out) {
    shortcut_conv_ = register_module(
        "shortcut_conv",
        torch::nn::Conv2d(
            Conv2dOptions(in, out, 1).stride(stride).bias(false)));
    shortcut_bn_ = register_module("shortcut_bn", torch::nn::BatchNorm2d(out));
  }
}

torch::Tensor ResNetBlockImpl::sum(const torch::Tensor& x) {
  torch::Tensor s;
  if (folded_) {
    s = conv2_(conv1_(x).relu_());
    s.add_(has_projection() ? shortcut_conv_(x) : x);
    return s;
  }
  s = bn2_(conv2_(bn1_(conv1_(x)).relu_()));
  if (has_projection()) {
    s.add_(shortcut_bn_(shortcut_conv_(x)));
  } else {
    s.add_(x);
  }
  return s;
}

std::pair<torch::Tensor, torch::Tensor> ResNetBlockImpl::forward(
    const torch::Tensor& x) {
  torch::Tensor s = sum(x);
  // The IC sees the sum before the ReLU, so the ReLU cannot be in place.
  return {torch::relu(s), s};
}

torch::Tensor ResNetBlockImpl::output(const torch::Tensor& x) {
  return sum(x).relu_();
}

void ResNetBlockImpl::fold_batch_norm() {
  if (folded_) {
    return;
  }
  conv1_ =
      torch::nn::Conv2d(replace_module("conv1", fold_conv_bn(conv1_, bn1_)));
  conv2_ =
      torch::nn::Conv2d(replace_module("conv2", fold_conv_bn(conv2_, bn2_)));
  if (has_projection()) {
    shortcut_conv_ = torch::nn::Conv2d(replace_module(
        "shortcut_conv", fold_conv_bn(shortcut_conv_, shortcut_bn_)));
  }
  folded_ = true;
}

ResNetImpl::ResNetImpl(BackboneOptions options)
    : BackboneImpl(std::move(options)) {
  options_.validate();
  using torch::nn::Conv2dOptions;
  // The 64 px variant halves the input in the stem: costs match 32 px.
  const int64_t stem_stride = options_.input_side == 64 ? 2 : 1;
  CostCounter counter;
  stem_conv_ = register_module(
      "stem_conv",
      torch::nn::Conv2d(Conv2dOptions(options_.in_channels, kWidths[0], 3)
                            .stride(stem_stride)
                            .padding(1)
                            .bias(false)));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(kWidths[0]));
  int64_t side = counter.conv(
      options_.in_channels,
      kWidths[0],
      options_.input_side,
      3,
      stem_stride,
      1,
      /*bias=*/false);
  counter.batch_norm(kWidths[0], side);
  counter.relu(kWidths[0] * side * side);
  profile_.stem = counter.take();

  auto list = register_module("blocks", torch::nn::ModuleList());
  int64_t in = kWidths[0];
  for (size_t stage = 0; stage < kWidths.size(); ++stage) {
    const int64_t out = kWidths[stage];
    for (int64_t b = 0; b < kBlocksPerStage; ++b) {
      const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      blocks_.emplace_back(in, out, stride);
      list->push_back(blocks_.back());
      const int64_t in_side = side;
      side = counter.conv(in, out, in_side, 3, stride, 1, /*bias=*/false);
      counter.batch_norm(out, side);
      counter.relu(out * side * side);
      counter.conv(out, out, side, 3, 1, 1, /*bias=*/false);
      counter.batch_norm(out, side);
      if (blocks_.back()->has_projection()) {
        counter.conv(in, out, in_side, 1, stride, 0, /*bias=*/false);
        counter.batch_norm(out, side);
      }
      counter.relu(out * side * side);
      profile_.blocks.push_back(counter.take());
      profile_.features.push_back({out, side, side});
      in = out;
    }
  }
  fc_ = register_module("fc", torch::nn::Linear(in, options_.num_classes));
  counter.avg_pool(in, side, kHeadPool);
  counter.linear(in, options_.num_classes);
  profile_.head = counter.take();
  profile_.head_features = in;

  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(
          conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    } else if (auto* fc = m->as<torch::nn::Linear>()) {
      fc->weight.normal_(0, 0.01);
      fc->bias.zero_();
    }
  }
}

int64_t ResNetImpl::num_blocks() const {
  return static_cast<int64_t>(blocks_.size());
}

torch::Tensor ResNetImpl::stem(const torch::Tensor& x) {
  check_input(x);
  if (folded_) {
    return stem_conv_(x).relu_();
  }
  return stem_bn_(stem_conv_(x)).relu_();
}

std::pair<torch::Tensor, torch::Tensor> ResNetImpl::block(
    int64_t i,
    const torch::Tensor& x) {
  profile_.check_block(i);
  return blocks_[static_cast<size_t>(i)]->forward(x);
}

torch::Tensor ResNetImpl::block_output(int64_t i, const torch::Tensor& x) {
  profile_.check_block(i);
  return blocks_[static_cast<size_t>(i)]->output(x);
}

void ResNetImpl::fold_batch_norm() {
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

torch::Tensor ResNetImpl::head(const torch::Tensor& x) {
  return fc_(
      torch::avg_pool2d(x, {kHeadPool, kHeadPool}, {kHeadPool, kHeadPool})
          .flatten(1));
}

std::vector<int64_t> ResNetImpl::ic_blocks() const {
  return {3, 7, 11, 15, 19, 23};
}

std::vector<int64_t> ResNetImpl::block_feature_shape(int64_t i) const {
  profile_.check_block(i);
  return profile_.features[static_cast<size_t>(i)];
}

int64_t ResNetImpl::head_features() const {
  return profile_.head_features;
}

IcInit ResNetImpl::ic_init() const {
  return IcInit::kDefault;
}

Cost ResNetImpl::stem_cost() const {
  return profile_.stem;
}

Cost ResNetImpl::block_cost(int64_t i) const {
  profile_.check_block(i);
  return profile_.blocks[static_cast<size_t>(i)];
}

Cost ResNetImpl::head_cost() const {
  return profile_.head;
}

} // namespace sdn::models
