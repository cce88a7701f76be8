#pragma once

#include "sdn/models/block.h"
#include "sdn/models/cost.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sdn::models {

/// How an IC's linear layer is initialised (differs per SDN class,
/// docs/architecture.md#internal-classifiers).
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
  /// CNN class 0.9 (docs/quirks.md#wrn-head-batchnorm-momentum); 0.1 is kept
  /// for both since one class serves both. Momentum is not stored in
  /// checkpoints.
  double wrn_head_bn_momentum = 0.1;

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// How a backbone initialises its weights once it is built
/// (docs/architecture.md#backbones). Every rule but kDefault also sets, in
/// module registration order, conv biases to 0, BN weights to 1 and biases to
/// 0, and Linear weights to N(0, 0.01) with biases 0; the order of the random
/// draws is that order.
enum class WeightInit {
  kDefault, ///< LibTorch's (= PyTorch's) module defaults (MobileNet).
  kNormalFanOut, ///< Conv weights N(0, sqrt(2 / (k * k * out))) (VGG).
  kKaimingNormalFanOut, ///< Conv kaiming_normal_(fan-out, ReLU) (ResNet).
  kXavierUniform, ///< Conv xavier_uniform_(gain sqrt(2)) (WRN).
};

/// A CNN cut into stem, blocks and head. The SDN network attaches internal
/// classifiers after the blocks listed by ic_blocks(); the plain CNN is the
/// same object run without them. Inputs are float [N, in_channels, side,
/// side] (NCHW or channels-last); the logits are [N, num_classes].
///
/// An architecture (one file each, listed in the registry) only states what
/// differs: its factory adds the stem, its blocks and the head, then calls
/// finish(). Everything else, the staged run, the shapes and costs (traced
/// from the blocks' own layers), folding and the initialisation, lives here
/// once.
class BackboneImpl : public torch::nn::Module {
 public:
  ~BackboneImpl() override = default;

  /// Number of blocks between stem and head.
  int64_t num_blocks() const;
  /// The stem (may be the identity). Throws sdn::Error unless `x` is
  /// [N, in_channels, input_side, input_side].
  torch::Tensor stem(const torch::Tensor& x);
  /// Runs block `i`: returns {output passed to the next block, features an
  /// IC attached here sees} (equal tensors except ResNet's pre-ReLU sum).
  /// Throws sdn::Error unless 0 <= i < num_blocks().
  std::pair<torch::Tensor, torch::Tensor> block(
      int64_t i,
      const torch::Tensor& x);
  /// Runs block `i` and returns only its output: block(i, x).first, but
  /// ResNet applies its last ReLU in place when no IC needs the sum.
  torch::Tensor block_output(int64_t i, const torch::Tensor& x);
  /// The head: from the last block's output to the final logits.
  torch::Tensor head(const torch::Tensor& x);

  /// Folds every BatchNorm that directly follows a convolution into that
  /// convolution with its running statistics (fold_conv_bn), for inference:
  /// the outputs then equal the eval-mode outputs within float rounding.
  /// Afterwards the folded BNs are skipped, so the backbone must not be
  /// trained. Draws from the default generator (new Conv2d modules).
  void fold_batch_norm();
  /// Whether fold_batch_norm() has run.
  bool folded() const {
    return folded_;
  }

  /// Blocks after which an IC is attached (docs/architecture.md#ic-placement),
  /// ascending.
  const std::vector<int64_t>& ic_blocks() const {
    return ic_blocks_;
  }
  /// Shape [C, H, W] of the IC features of block `i` for one image. Throws
  /// sdn::Error unless 0 <= i < num_blocks().
  std::vector<int64_t> block_feature_shape(int64_t i) const;
  /// Inputs of the head's first linear layer (its pooled, flattened
  /// features), for one image.
  int64_t head_features() const {
    return head_features_;
  }
  /// How this architecture's SDN class initialises IC linears.
  IcInit ic_init() const {
    return ic_init_;
  }

  /// Cost of the stem for one image.
  Cost stem_cost() const {
    return stem_cost_;
  }
  /// Cost of block `i` for one image; throws like block_feature_shape().
  Cost block_cost(int64_t i) const;
  /// Cost of the head for one image.
  Cost head_cost() const {
    return head_cost_;
  }

  /// The options it was built with.
  const BackboneOptions& options() const {
    return options_;
  }

  /// Runs stem, all blocks, head: the plain CNN's logits.
  torch::Tensor forward(const torch::Tensor& x);

  // Building: an architecture's factory (or, for a head of its own, its
  // subclass's constructor) makes one and calls these in order: add_stem,
  // add_block / add_stages, add_pooled_head, finish. They throw sdn::Error
  // once finish() has run.

  /// An empty backbone for `options` (validated: sdn::Error); `ic_blocks`
  /// and `ic_init` are the architecture's IC placement
  /// (docs/architecture.md#ic-placement) and IC init
  /// (docs/architecture.md#internal-classifiers).
  BackboneImpl(
      BackboneOptions options,
      std::vector<int64_t> ic_blocks,
      IcInit ic_init);

  /// Registers the stem: Conv3x3 (padding 1) "stem_conv" from in_channels
  /// to `width` with `stride`; with `bn_relu`, then BatchNorm2d "stem_bn"
  /// and a ReLU (the conv without bias), else the conv alone (with bias).
  /// Without it the stem is the identity.
  void add_stem(int64_t width, int64_t stride, bool bn_relu);
  /// Registers `block` as the next of "blocks" (registering that list on
  /// the first call).
  void add_block(std::shared_ptr<BlockImpl> block);
  /// Adds `per_stage` blocks per entry of `widths`, each `make` with
  /// `options` from the previous width to this one, stride 2 on the first
  /// block of every stage but the first. Returns the last width.
  int64_t add_stages(
      const BlockOptions& options,
      const std::vector<int64_t>& widths,
      int64_t per_stage,
      const BlockFactory& make);
  /// Registers the pooled head over `channels`: [BatchNorm2d "head_bn"
  /// with `bn` -> ReLU ->] AvgPool2d(pool) -> flatten -> Linear "fc" to
  /// num_classes.
  void add_pooled_head(
      int64_t channels,
      int64_t pool,
      std::optional<torch::nn::BatchNorm2dOptions> bn = std::nullopt);
  /// Ends the building: traces one image through stem, blocks and head
  /// (shapes and costs), then initialises the weights with `init`.
  void finish(WeightInit init);

 protected:
  /// A head of its own (VGG) replaces add_pooled_head by overriding both:
  /// the logits from the last block's output, and the same layers traced.
  virtual torch::Tensor run_head(const torch::Tensor& x);
  virtual void trace_head(CostTrace& trace) const;

  BackboneOptions options_;

 private:
  /// Throws sdn::Error unless `x` is [N, in_channels, side, side].
  void check_input(const torch::Tensor& x) const;
  /// Throws sdn::Error unless 0 <= i < num_blocks().
  void check_block(int64_t i) const;
  /// Throws sdn::Error once finish() has run.
  void check_building() const;

  std::vector<int64_t> ic_blocks_;
  IcInit ic_init_;
  bool folded_ = false;
  bool finished_ = false;
  ConvBn stem_;
  bool stem_relu_ = false;
  torch::nn::ModuleList block_list_{nullptr};
  std::vector<std::shared_ptr<BlockImpl>> blocks_;
  torch::nn::BatchNorm2d head_bn_{nullptr};
  int64_t head_pool_ = 1;
  torch::nn::Linear fc_{nullptr};
  Cost stem_cost_;
  std::vector<Cost> block_costs_;
  std::vector<std::vector<int64_t>> features_;
  Cost head_cost_;
  int64_t head_features_ = 0;
};

/// Builds a backbone from options (one per architecture).
using BackboneFactory =
    std::function<std::shared_ptr<BackboneImpl>(const BackboneOptions&)>;

/// The registry: every architecture's name and factory, in the order the
/// names are listed to users. The one place an architecture is added.
const std::vector<std::pair<std::string, BackboneFactory>>& backbone_registry();

/// Builds a backbone by architecture name (the registry). Throws sdn::Error
/// for bad options, naming the parameter (an unknown name lists the known
/// ones).
std::shared_ptr<BackboneImpl> make_backbone(const BackboneOptions& options);

/// Architecture names the registry knows, in its order.
const std::vector<std::string>& arch_names();

/// VGG-16-BN (docs/architecture.md#vgg-16-bn; the original `VGG` / `VGG_SDN`),
/// vgg.cpp.
std::shared_ptr<BackboneImpl> make_vgg16(const BackboneOptions& options);
/// ResNet-56 (docs/architecture.md#resnet-56; `ResNet` / `ResNet_SDN`),
/// resnet.cpp.
std::shared_ptr<BackboneImpl> make_resnet56(const BackboneOptions& options);
/// Wide-ResNet-32-4 (docs/architecture.md#wide-resnet-32-4; `WideResNet` /
/// `WideResNet_SDN`), wide_resnet.cpp.
std::shared_ptr<BackboneImpl> make_wrn32_4(const BackboneOptions& options);
/// MobileNet v1 (docs/architecture.md#mobilenet; `MobileNet` /
/// `MobileNet_SDN`), mobilenet.cpp.
std::shared_ptr<BackboneImpl> make_mobilenet(const BackboneOptions& options);

} // namespace sdn::models
