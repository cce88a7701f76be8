#pragma once

#include "sdn/models/backbone.h"
#include "sdn/models/cost.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace sdn::models {

/// ResNet BasicBlock: Conv3x3(stride) -> BN -> ReLU -> Conv3x3 -> BN, plus
/// the identity or a Conv1x1(stride) -> BN shortcut ("option B"), then ReLU.
class ResNetBlockImpl : public torch::nn::Module {
 public:
  /// A block from `in` to `out` channels with the first conv's `stride`.
  ResNetBlockImpl(int64_t in, int64_t out, int64_t stride);
  /// {ReLU(sum), sum}: the output and the pre-ReLU sum an IC sees (spec 5).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);
  /// ReLU(sum) alone, the ReLU in place (no copy of the sum kept).
  torch::Tensor output(const torch::Tensor& x);
  /// Folds bn1, bn2 and the shortcut BN into their convolutions.
  void fold_batch_norm();
  /// Whether the shortcut is a projection (Conv1x1 -> BN).
  bool has_projection() const {
    return !shortcut_conv_.is_empty();
  }

 private:
  /// The residual sum before the final ReLU.
  torch::Tensor sum(const torch::Tensor& x);

  bool folded_ = false;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::BatchNorm2d bn2_{nullptr};
  torch::nn::Conv2d shortcut_conv_{nullptr};
  torch::nn::BatchNorm2d shortcut_bn_{nullptr};
};
TORCH_MODULE(ResNetBlock);

/// ResNet-56 (spec 4.2): stem Conv3x3 -> BN -> ReLU (stride 2 at 64 px),
/// 3 stages x 9 BasicBlocks of widths 16/32/64, head AvgPool2d(8) -> Linear.
class ResNetImpl : public BackboneImpl {
 public:
  /// Builds and initialises the network (Kaiming fan-out convs).
  explicit ResNetImpl(BackboneOptions options);

  int64_t num_blocks() const override;
  torch::Tensor stem(const torch::Tensor& x) override;
  std::pair<torch::Tensor, torch::Tensor> block(
      int64_t i,
      const torch::Tensor& x) override;
  torch::Tensor block_output(int64_t i, const torch::Tensor& x) override;
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
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<ResNetBlock> blocks_;
  torch::nn::Linear fc_{nullptr};
  BackboneProfile profile_;
};
TORCH_MODULE(ResNet);

} // namespace sdn::models
