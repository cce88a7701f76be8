// VGG-16-BN as in the original code's `VGG` / `VGG_SDN` classes
// (docs/architecture.md#vgg-16-bn): 13 conv blocks, then Flatten -> Linear ->
// ReLU -> Dropout -> Linear -> Dropout -> Linear (no ReLU between the last two,
// a kept quirk). FC widths [512, 512] at 32 px, [2048, 1024] at 64 px.
#include "sdn/models/backbone.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <array>

namespace sdn::models {

namespace {

// One conv block: Conv3x3 (bias) -> BN -> ReLU -> optional MaxPool2d(2).
class VggBlockImpl : public BlockImpl {
 public:
  explicit VggBlockImpl(const BlockOptions& options)
      : conv_(
            *this,
            "conv",
            "bn",
            torch::nn::Conv2dOptions(
                options.in_channels(),
                options.out_channels(),
                3)
                .padding(1)
                .bias(true)),
        max_pool_(options.max_pool()) {}

  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = conv_(x).relu_();
    return max_pool_ ? torch::max_pool2d(h, {2, 2}, {2, 2}) : h;
  }
  void trace(CostTrace& trace) const override {
    conv_.trace(trace);
    trace.relu();
    if (max_pool_) {
      trace.max_pool(2);
    }
  }

  void fold_batch_norm() override {
    conv_.fold();
  }

 private:
  ConvBn conv_;
  bool max_pool_;
};
TORCH_MODULE(VggBlock);

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

// The backbone with VGG's own head (three linears, two dropouts).
class VggImpl : public BackboneImpl {
 public:
  explicit VggImpl(const BackboneOptions& options)
      : BackboneImpl(options, {1, 3, 5, 6, 8, 9}, IcInit::kNormal001) {
    int64_t in = options_.in_channels;
    for (size_t i = 0; i < kChannels.size(); ++i) {
      add_block(
          VggBlock(BlockOptions(in, kChannels[i]).max_pool(kPool[i])).ptr());
      in = kChannels[i];
    }
    // Five 2x2 pools: 1x1 maps at 32 px, 2x2 at 64 px.
    const int64_t flat =
        in * (options_.input_side / 32) * (options_.input_side / 32);
    const bool tiny = options_.input_side == 64;
    const int64_t fc_a = tiny ? 2048 : 512;
    const int64_t fc_b = tiny ? 1024 : 512;
    fc1_ = register_module("fc1", torch::nn::Linear(flat, fc_a));
    drop1_ = register_module("drop1", torch::nn::Dropout(kDropout));
    fc2_ = register_module("fc2", torch::nn::Linear(fc_a, fc_b));
    drop2_ = register_module("drop2", torch::nn::Dropout(kDropout));
    fc3_ =
        register_module("fc3", torch::nn::Linear(fc_b, options_.num_classes));
    finish(WeightInit::kNormalFanOut);
  }

 protected:
  torch::Tensor run_head(const torch::Tensor& x) override {
    torch::Tensor h = fc1_(x.flatten(1)).relu_();
    h = fc2_(drop1_(h));
    return fc3_(drop2_(h));
  }
  void trace_head(CostTrace& trace) const override {
    trace.flatten();
    trace.linear(*fc1_);
    trace.relu();
    trace.linear(*fc2_);
    trace.linear(*fc3_);
  }

 private:
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Dropout drop1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
  torch::nn::Dropout drop2_{nullptr};
  torch::nn::Linear fc3_{nullptr};
};

} // namespace

std::shared_ptr<BackboneImpl> make_vgg16(const BackboneOptions& options) {
  return std::make_shared<VggImpl>(options);
}

} // namespace sdn::models
