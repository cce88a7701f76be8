#pragma once

#include "sdn/models/backbone.h"
#include "sdn/models/cost.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace sdn::models {

/// Pre-activation "wide_basic" block: BN -> ReLU -> Conv3x3 -> Dropout ->
/// BN -> ReLU -> Conv3x3(stride), plus the identity or a Conv1x1(stride)
/// shortcut (bias, no BN). The output is the sum, with no activation.
class WideBlockImpl : public torch::nn::Module {
 public:
  /// A block from `in` to `out` channels; `stride` on the second conv.
  WideBlockImpl(int64_t in, int64_t out, int64_t stride, double dropout);
  /// The residual sum.
  torch::Tensor forward(const torch::Tensor& x);
  /// Whether the shortcut is a Conv1x1 projection.
  bool has_projection() const {
    return !shortcut_.is_empty();
  }
  /// Folds bn2 into conv1 (dropout between them is the identity in eval
  /// mode); bn1 follows the previous block's sum and stays.
  void fold_batch_norm();

 private:
  bool folded_ = false;
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::BatchNorm2d bn2_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::Conv2d shortcut_{nullptr};
};
TORCH_MODULE(WideBlock);

/// Wide-ResNet-32-4 (spec 4.3): stem Conv3x3 (bias; stride 2 at 64 px),
/// 3 stages x 5 wide_basic blocks of widths 64/128/256, dropout 0.3, head
/// BN -> ReLU -> AvgPool2d(8) -> Linear.
class WideResNetImpl : public BackboneImpl {
 public:
  /// Builds and initialises the network (Xavier-uniform gain sqrt(2) convs).
  explicit WideResNetImpl(BackboneOptions options);

  int64_t num_blocks() const override;
  torch::Tensor stem(const torch::Tensor& x) override;
  std::pair<torch::Tensor, torch::Tensor> block(
      int64_t i,
      const torch::Tensor& x) override;
  torch::Tensor head(const torch::Tensor& x) override;
  void fold_batch_norm() override;
  std::vector<int64_t> ic_blocks() const override;
  std::vector<int64_t> block_feature_shape(int64_t i) const override;
  int64_t head_features() const override;
  IcInit ic_init() const override;
  Cost stem_cost() const override;
  Cost block_cost(int64_t i) const override;
  Cost head_cost() const override;

 private:
  torch::nn::Conv2d stem_conv_{nullptr};
  std::vector<WideBlock> blocks_;
  torch::nn::BatchNorm2d head_bn_{nullptr};
  torch::nn::Linear fc_{nullptr};
  BackboneProfile profile_;
};
TORCH_MODULE(WideResNet);

} // namespace sdn::models
