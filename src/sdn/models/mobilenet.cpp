// MobileNet (v1-style) as in the original `MobileNet` / `MobileNet_SDN`
// (docs/architecture.md#mobilenet): stem Conv3x3(32) -> BN -> ReLU (stride 1 at
// both sizes), 13 depthwise-separable blocks, head AvgPool2d(2) at 32 px or
// AvgPool2d(4) at 64 px -> Linear(1024). No custom init: LibTorch's module
// defaults equal PyTorch's.
#include "sdn/models/backbone.h"

#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <array>

namespace sdn::models {

namespace {

// Depthwise-separable block: depthwise Conv3x3(stride) -> BN -> ReLU ->
// pointwise Conv1x1 -> BN -> ReLU (plain ReLU, no bias).
class MobileBlockImpl : public BlockImpl {
 public:
  explicit MobileBlockImpl(const BlockOptions& o)
      : dw_(*this,
            "dw_conv",
            "dw_bn",
            torch::nn::Conv2dOptions(o.in_channels(), o.in_channels(), 3)
                .stride(o.stride())
                .padding(1)
                .groups(o.in_channels())
                .bias(false)),
        pw_(*this,
            "pw_conv",
            "pw_bn",
            torch::nn::Conv2dOptions(o.in_channels(), o.out_channels(), 1)
                .bias(false)) {}

  torch::Tensor forward(const torch::Tensor& x) override {
    return pw_(dw_(x).relu_()).relu_();
  }
  void trace(CostTrace& trace) const override {
    for (const ConvBn* unit : {&dw_, &pw_}) {
      unit->trace(trace);
      trace.relu();
    }
  }

  void fold_batch_norm() override {
    dw_.fold();
    pw_.fold();
  }

 private:
  ConvBn dw_;
  ConvBn pw_;
};
TORCH_MODULE(MobileBlock);

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

std::shared_ptr<BackboneImpl> make_mobilenet(const BackboneOptions& options) {
  auto net = std::make_shared<BackboneImpl>(
      options, std::vector<int64_t>{2, 4, 6, 8, 11}, IcInit::kDefault);
  net->add_stem(kStemWidth, /*stride=*/1, /*bn_relu=*/true);
  int64_t in = kStemWidth;
  for (const auto& [out, stride] : kConfig) {
    net->add_block(MobileBlock(BlockOptions(in, out).stride(stride)).ptr());
    in = out;
  }
  // Four stride-2 blocks leave 2x2 at 32 px and 4x4 at 64 px: pool to 1x1.
  net->add_pooled_head(in, options.input_side / 16);
  net->finish(WeightInit::kDefault);
  return net;
}

} // namespace sdn::models
