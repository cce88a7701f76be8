#pragma once

#include "sdn/models/backbone.h"
#include "sdn/models/cost.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace sdn::models {

/// One VGG conv block: Conv3x3 (bias) -> BN -> ReLU -> optional MaxPool2d(2).
class VggBlockImpl : public torch::nn::Module {
 public:
  /// A block from `in` to `out` channels, pooling by 2 when `pool`.
  VggBlockImpl(int64_t in, int64_t out, bool pool);
  /// The block's output.
  torch::Tensor forward(const torch::Tensor& x);
  /// Folds the BN into the convolution.
  void fold_batch_norm();

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  bool pool_;
  bool folded_ = false;
};
TORCH_MODULE(VggBlock);

/// VGG-16-BN (spec 4.1): 13 conv blocks, then Flatten -> Linear -> ReLU ->
/// Dropout -> Linear -> Dropout -> Linear (no ReLU between the last two, a
/// kept quirk). FC widths [512, 512] at 32 px, [2048, 1024] at 64 px.
class VggImpl : public BackboneImpl {
 public:
  /// Builds and initialises the network (spec 4.1's init).
  explicit VggImpl(BackboneOptions options);

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
  std::vector<VggBlock> blocks_;
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Dropout drop1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
  torch::nn::Dropout drop2_{nullptr};
  torch::nn::Linear fc3_{nullptr};
  BackboneProfile profile_;
};
TORCH_MODULE(Vgg);

} // namespace sdn::models
