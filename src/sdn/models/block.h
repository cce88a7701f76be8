#pragma once

#include "sdn/models/cost.h"

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace sdn::models {

/// What one backbone block is built for. The four architectures' blocks
/// (docs/architecture.md#backbones) share these options; each reads the ones it
/// uses.
struct BlockOptions {
  /// A block from `in_channels` to `out_channels` channels.
  BlockOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  /// Whether a residual shortcut needs a projection: stride != 1 or the
  /// channels change ("option B").
  bool projects() const {
    return stride_ != 1 || in_channels_ != out_channels_;
  }
  /// Throws sdn::Error naming the first bad parameter (channels >= 1,
  /// stride >= 1, dropout in [0, 1)).
  void validate() const;
  /// Channels of the input map.
  TORCH_ARG(int64_t, in_channels);
  /// Channels of the output map.
  TORCH_ARG(int64_t, out_channels);
  /// Stride of the block's strided convolution (which one it is, is the
  /// architecture's choice) and of its shortcut.
  TORCH_ARG(int64_t, stride) = 1;
  /// VGG: a MaxPool2d(2) ends the block.
  TORCH_ARG(bool, max_pool) = false;
  /// WRN: dropout probability between the two convolutions.
  TORCH_ARG(double, dropout) = 0;
};

/// A new convolution with bias whose output equals `bn(conv(x))` with `bn`
/// in eval mode (running statistics), within float rounding: the BN's scale
/// gamma / sqrt(var + eps) is folded into the weights and its shift into the
/// bias (computed in double). Same dtype and device, contiguous weights.
/// Draws from the default generator (it builds a Conv2d). Throws sdn::Error
/// when the BN has no running statistics or affine parameters.
torch::nn::Conv2d fold_conv_bn(
    const torch::nn::Conv2d& conv,
    const torch::nn::BatchNorm2d& bn);

/// A Conv2d and the BatchNorm2d that follows it (or the Conv2d alone),
/// registered on the module that owns them under their own names, the names
/// checkpoints use. Runs BN(conv(x)) until fold() folds the BN into the
/// convolution (fold_conv_bn), then conv(x). Not a module itself: the owner
/// keeps it as a member (it points back to the owner, for fold()).
class ConvBn {
 public:
  /// Not built: defined() is false.
  ConvBn() = default;
  /// Registers Conv2d `conv_name` with `options` on `owner`, then, unless
  /// `bn_name` is empty, BatchNorm2d `bn_name` over its output channels
  /// (LibTorch's defaults: eps 1e-5, momentum 0.1). Draws the convolution's
  /// default initialisation from the default generator.
  ConvBn(
      torch::nn::Module& owner,
      std::string conv_name,
      const std::string& bn_name,
      const torch::nn::Conv2dOptions& options);

  /// Whether it was built.
  bool defined() const {
    return owner_ != nullptr;
  }
  /// [N, out, H', W'] from [N, in, H, W] (float, any memory format).
  torch::Tensor operator()(const torch::Tensor& x);
  /// Folds the BN into the convolution (once; no-op without a BN), which
  /// replaces the owner's `conv_name` module by the folded one.
  void fold();
  /// Traces the convolution and the BN (the unfolded layers).
  void trace(CostTrace& trace) const;

 private:
  torch::nn::Module* owner_ = nullptr;
  std::string conv_name_;
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  bool folded_ = false;
};

/// One block of a backbone: the layers between two places where an exit
/// can attach. Maps [N, in_channels, H, W] to [N, out_channels, H', W']
/// (float, NCHW or channels-last).
class BlockImpl : public torch::nn::Module {
 public:
  ~BlockImpl() override = default;
  /// The block's output, passed to the next block.
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  /// {output, features an IC attached after this block sees}. By default
  /// both are the output (one tensor); ResNet's IC sees the pre-ReLU sum.
  virtual std::pair<torch::Tensor, torch::Tensor> forward_with_features(
      const torch::Tensor& x);
  /// Follows one image through the layers forward() runs: adds their cost
  /// to `trace` and leaves it at the output's shape.
  virtual void trace(CostTrace& trace) const = 0;
  /// Folds every BatchNorm that directly follows a convolution into it
  /// (ConvBn::fold), for inference only.
  virtual void fold_batch_norm() = 0;
};

/// Builds a block from its options (one per architecture).
using BlockFactory =
    std::function<std::shared_ptr<BlockImpl>(const BlockOptions&)>;

} // namespace sdn::models
