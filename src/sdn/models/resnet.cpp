// ResNet-56 as in the original code's `ResNet` / `ResNet_SDN`
// (docs/architecture.md#resnet-56): stem Conv3x3 -> BN -> ReLU (stride 2 at 64
// px, so costs match 32 px), 3 stages x 9 BasicBlocks of widths 16/32/64, head
// AvgPool2d(8) -> Linear. Convolutions are Kaiming-normal (fan-out).
#include "sdn/models/backbone.h"

#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace sdn::models {

namespace {

// BasicBlock: Conv3x3(stride) -> BN -> ReLU -> Conv3x3 -> BN, plus the
// identity or a Conv1x1(stride) -> BN shortcut ("option B"), then ReLU.
class ResNetBlockImpl : public BlockImpl {
 public:
  explicit ResNetBlockImpl(const BlockOptions& options) {
    using torch::nn::Conv2dOptions;
    const int64_t in = options.in_channels();
    const int64_t out = options.out_channels();
    const int64_t stride = options.stride();
    conv1_ = ConvBn(
        *this,
        "conv1",
        "bn1",
        Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
    conv2_ = ConvBn(
        *this,
        "conv2",
        "bn2",
        Conv2dOptions(out, out, 3).padding(1).bias(false));
    if (options.projects()) {
      shortcut_ = ConvBn(
          *this,
          "shortcut_conv",
          "shortcut_bn",
          Conv2dOptions(in, out, 1).stride(stride).bias(false));
    }
  }

  // The IC sees the sum before the ReLU, so the ReLU cannot be in place.
  std::pair<torch::Tensor, torch::Tensor> forward_with_features(
      const torch::Tensor& x) override {
    torch::Tensor s = sum(x);
    return {torch::relu(s), s};
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return sum(x).relu_();
  }
  void trace(CostTrace& trace) const override {
    CostTrace shortcut = trace.branch();
    conv1_.trace(trace);
    trace.relu();
    conv2_.trace(trace);
    if (shortcut_.defined()) {
      shortcut_.trace(shortcut);
    }
    trace.join(shortcut);
    trace.relu();
  }

  void fold_batch_norm() override {
    conv1_.fold();
    conv2_.fold();
    shortcut_.fold();
  }

 private:
  // The residual sum before the final ReLU.
  torch::Tensor sum(const torch::Tensor& x) {
    torch::Tensor s = conv2_(conv1_(x).relu_());
    s.add_(shortcut_.defined() ? shortcut_(x) : x);
    return s;
  }

  ConvBn conv1_;
  ConvBn conv2_;
  ConvBn shortcut_;
};
TORCH_MODULE(ResNetBlock);

/// BasicBlocks per stage: ResNet-56 = 6 * 9 + 2 layers.
constexpr int64_t kBlocksPerStage = 9;
/// Head pooling: the last stage's 8x8 map becomes 1x1.
constexpr int64_t kHeadPool = 8;

} // namespace

std::shared_ptr<BackboneImpl> make_resnet56(const BackboneOptions& options) {
  auto net = std::make_shared<BackboneImpl>(
      options, std::vector<int64_t>{3, 7, 11, 15, 19, 23}, IcInit::kDefault);
  // The 64 px variant halves the input in the stem: costs match 32 px.
  net->add_stem(16, options.input_side / 32, /*bn_relu=*/true);
  const int64_t last = net->add_stages(
      BlockOptions(16, 16), {16, 32, 64}, kBlocksPerStage, [](auto& o) {
        return ResNetBlock(o).ptr();
      });
  net->add_pooled_head(last, kHeadPool);
  net->finish(WeightInit::kKaimingNormalFanOut);
  return net;
}

} // namespace sdn::models
