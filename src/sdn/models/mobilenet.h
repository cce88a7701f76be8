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

/// Depthwise-separable block: depthwise Conv3x3(stride) -> BN -> ReLU ->
/// pointwise Conv1x1 -> BN -> ReLU (plain ReLU, no bias).
class MobileBlockImpl : public torch::nn::Module {
 public:
  /// A block from `in` to `out` channels with the depthwise conv's `stride`.
  MobileBlockImpl(int64_t in, int64_t out, int64_t stride);
  /// The block's output.
  torch::Tensor forward(const torch::Tensor& x);
  /// Folds both BNs into their convolutions.
  void fold_batch_norm();

 private:
  bool folded_ = false;
  torch::nn::Conv2d dw_conv_{nullptr};
  torch::nn::BatchNorm2d dw_bn_{nullptr};
  torch::nn::Conv2d pw_conv_{nullptr};
  torch::nn::BatchNorm2d pw_bn_{nullptr};
};
TORCH_MODULE(MobileBlock);

/// MobileNet v1-style (spec 4.4): stem Conv3x3(32) -> BN -> ReLU (stride 1
/// at both sizes), 13 depthwise-separable blocks, head AvgPool2d(2) at 32 px
/// or AvgPool2d(4) at 64 px -> Linear(1024). LibTorch's default init.
class MobileNetImpl : public BackboneImpl {
 public:
  /// Builds the network with LibTorch's (= PyTorch's) default init.
  explicit MobileNetImpl(BackboneOptions options);

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
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<MobileBlock> blocks_;
  torch::nn::Linear fc_{nullptr};
  int64_t head_pool_ = 2; ///< AvgPool2d kernel of the head.
  BackboneProfile profile_;
};
TORCH_MODULE(MobileNet);

} // namespace sdn::models
