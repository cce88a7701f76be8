#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sdn::models {

/// Cost of a piece of network for one image, counted both ways.
struct Cost {
  double ops = 0; ///< Operations under the original profiler's rules (7.1).
  double macs = 0; ///< Exact multiply-accumulates (depthwise counted right).
  int64_t params = 0; ///< Parameters (including BN affine, alpha).
  Cost& operator+=(const Cost& o) {
    ops += o.ops;
    macs += o.macs;
    params += o.params;
    return *this;
  }
};

/// How an IC's linear layer is initialised (differs per SDN class, spec 5).
enum class IcInit {
  kNormal001, ///< N(0, 0.01) weights, zero bias (VGG_SDN).
  kDefault, ///< PyTorch's default Linear init (ResNet_SDN, MobileNet_SDN).
  kDefaultZeroBias, ///< Default weights, zero bias (WideResNet_SDN).
};

/// What a backbone is built for.
struct BackboneOptions {
  std::string arch = "resnet56"; ///< vgg16, resnet56, wrn32_4, mobilenet.
  int64_t in_channels = 3; ///< 1 or 3.
  int64_t input_side = 32; ///< 32 (CIFAR, padded MNIST) or 64 (Tiny).
  int64_t num_classes = 10; ///< >= 2.
  /// Momentum of WRN-32-4's head BatchNorm (PyTorch convention: weight of
  /// the batch statistic). The original SDN class used the default 0.1, its
  /// CNN class 0.9 (spec 14.11); 0.1 is kept for both since one class serves
  /// both. Momentum is not stored in checkpoints.
  double wrn_head_bn_momentum = 0.1;

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// A CNN cut into stem, blocks and head. The SDN network attaches internal
/// classifiers after the blocks listed by ic_blocks(); the plain CNN is the
/// same object run without them.
class BackboneImpl : public torch::nn::Module {
 public:
  ~BackboneImpl() override = default;

  /// Number of blocks between stem and head.
  virtual int64_t num_blocks() const = 0;
  /// The stem (may be the identity).
  virtual torch::Tensor stem(const torch::Tensor& x) = 0;
  /// Runs block `i`: returns {output passed to the next block, features an IC
  /// attached here sees} (equal tensors except ResNet's pre-ReLU sum).
  virtual std::pair<torch::Tensor, torch::Tensor> block(
      int64_t i,
      const torch::Tensor& x) = 0;
  /// Runs block `i` and returns only its output: block(i, x).first. ResNet
  /// overrides it to apply its last ReLU in place when no IC needs the sum.
  virtual torch::Tensor block_output(int64_t i, const torch::Tensor& x) {
    return block(i, x).first;
  }
  /// The head: from the last block's output to the final logits.
  virtual torch::Tensor head(const torch::Tensor& x) = 0;

  /// Folds every BatchNorm that directly follows a convolution into that
  /// convolution with its running statistics (fold_conv_bn), for inference:
  /// the outputs then equal the eval-mode outputs within float rounding.
  /// Afterwards the folded BNs are skipped, so the backbone must not be
  /// trained. Draws from the default generator (new Conv2d modules).
  virtual void fold_batch_norm() = 0;
  /// Whether fold_batch_norm() has run.
  bool folded() const {
    return folded_;
  }

  /// Blocks after which an IC is attached (spec section 6), ascending.
  virtual std::vector<int64_t> ic_blocks() const = 0;
  /// Shape [C, H, W] of the IC features of block `i` for one image.
  virtual std::vector<int64_t> block_feature_shape(int64_t i) const = 0;
  /// Inputs of the head's first linear layer (its pooled, flattened
  /// features), for one image.
  virtual int64_t head_features() const = 0;
  /// How this architecture's SDN class initialises IC linears.
  virtual IcInit ic_init() const = 0;

  /// Costs of the stem, of block `i`, of the head, for one image.
  virtual Cost stem_cost() const = 0;
  virtual Cost block_cost(int64_t i) const = 0;
  virtual Cost head_cost() const = 0;

  /// The options it was built with.
  const BackboneOptions& options() const {
    return options_;
  }

  /// Runs stem, all blocks, head: the plain CNN's logits.
  torch::Tensor forward(const torch::Tensor& x);

 protected:
  explicit BackboneImpl(BackboneOptions options)
      : options_(std::move(options)) {}
  /// Throws sdn::Error unless `x` is [N, in_channels, side, side].
  void check_input(const torch::Tensor& x) const;
  BackboneOptions options_;
  bool folded_ = false; ///< Set by fold_batch_norm().
};

/// A new convolution with bias whose output equals `bn(conv(x))` with `bn`
/// in eval mode (running statistics), within float rounding: the BN's scale
/// gamma / sqrt(var + eps) is folded into the weights and its shift into the
/// bias (computed in double). Same dtype and device, contiguous weights.
torch::nn::Conv2d fold_conv_bn(
    const torch::nn::Conv2d& conv,
    const torch::nn::BatchNorm2d& bn);

/// Builds a backbone by architecture name (the registry). Throws sdn::Error
/// for an unknown name, listing the known ones.
std::shared_ptr<BackboneImpl> make_backbone(const BackboneOptions& options);

/// Architecture names the registry knows.
const std::vector<std::string>& arch_names();

} // namespace sdn::models
