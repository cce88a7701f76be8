// Wide-ResNet-32-4 as in the original `WideResNet` / `WideResNet_SDN`
// (docs/architecture.md#wide-resnet-32-4): stem Conv3x3 (bias; stride 2 at 64
// px), 3 stages x 5 pre-activation blocks of widths 64/128/256, dropout 0.3,
// stride on the second conv and no activation after the sum; head BN -> ReLU ->
// AvgPool2d(8) -> Linear. Convolutions are Xavier-uniform, gain sqrt(2).
#include "sdn/models/backbone.h"

#include <torch/nn/modules/dropout.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace sdn::models {

namespace {

// "wide_basic": BN -> ReLU -> Conv3x3 -> Dropout -> BN -> ReLU ->
// Conv3x3(stride), plus the identity or a Conv1x1(stride) shortcut (bias,
// no BN). The output is the sum, with no activation.
class WideBlockImpl : public BlockImpl {
 public:
  explicit WideBlockImpl(const BlockOptions& o) {
    // Registered one by one: bn2 comes after conv1 and the dropout.
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(o.in_channels()));
    conv1_ = register_module(
        "conv1",
        torch::nn::Conv2d(
            torch::nn::Conv2dOptions(o.in_channels(), o.out_channels(), 3)
                .padding(1)
                .bias(true)));
    dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout()));
    bn2_ = register_module("bn2", torch::nn::BatchNorm2d(o.out_channels()));
    conv2_ = ConvBn(
        *this,
        "conv2",
        "",
        torch::nn::Conv2dOptions(o.out_channels(), o.out_channels(), 3)
            .stride(o.stride())
            .padding(1)
            .bias(true));
    if (o.projects()) {
      shortcut_ = ConvBn(
          *this,
          "shortcut",
          "",
          torch::nn::Conv2dOptions(o.in_channels(), o.out_channels(), 1)
              .stride(o.stride())
              .bias(true));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = conv1_(bn1_(x).relu_());
    h = folded_ ? conv2_(h.relu_()) : conv2_(bn2_(dropout_(h)).relu_());
    return h.add_(shortcut_.defined() ? shortcut_(x) : x);
  }
  void trace(CostTrace& trace) const override {
    CostTrace shortcut = trace.branch();
    trace.batch_norm(*bn1_);
    trace.relu();
    trace.conv(*conv1_);
    trace.batch_norm(*bn2_);
    trace.relu();
    conv2_.trace(trace);
    if (shortcut_.defined()) {
      shortcut_.trace(shortcut);
    }
    trace.join(shortcut);
  }

  // bn2 folds into conv1 (the dropout between them is the identity in eval
  // mode); bn1 follows the previous block's sum and stays.
  void fold_batch_norm() override {
    if (folded_) {
      return;
    }
    conv1_ =
        torch::nn::Conv2d(replace_module("conv1", fold_conv_bn(conv1_, bn2_)));
    folded_ = true;
  }

 private:
  bool folded_ = false;
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::BatchNorm2d bn2_{nullptr};
  ConvBn conv2_;
  ConvBn shortcut_;
};
TORCH_MODULE(WideBlock);

/// Blocks per stage: (32 - 2) / 6.
constexpr int64_t kBlocksPerStage = 5;
/// The original's dropout_rate.
constexpr double kDropout = 0.3;
/// Head pooling: the last stage's 8x8 map becomes 1x1.
constexpr int64_t kHeadPool = 8;

} // namespace

std::shared_ptr<BackboneImpl> make_wrn32_4(const BackboneOptions& options) {
  auto net = std::make_shared<BackboneImpl>(
      options,
      std::vector<int64_t>{2, 4, 6, 8, 10, 12},
      IcInit::kDefaultZeroBias);
  // Width 16 (before widening by 4), a bare conv, stride 2 at 64 px.
  net->add_stem(16, options.input_side / 32, /*bn_relu=*/false);
  const int64_t last = net->add_stages(
      BlockOptions(16, 16).dropout(kDropout),
      {64, 128, 256},
      kBlocksPerStage,
      [](auto& o) { return WideBlock(o).ptr(); });
  net->add_pooled_head(
      last,
      kHeadPool,
      torch::nn::BatchNorm2dOptions(last).momentum(
          options.wrn_head_bn_momentum));
  net->finish(WeightInit::kXavierUniform);
  return net;
}

} // namespace sdn::models
