#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <vector>

namespace sdn::models {

/// Cost of a piece of network for one image, counted both ways.
struct Cost {
  double ops = 0; ///< Operations under the original profiler's rules (7.1).
  double macs = 0; ///< Exact multiply-accumulates (depthwise counted right).
  int64_t params = 0; ///< Parameters (including BN affine, alpha).
  /// Adds `o` field by field.
  Cost& operator+=(const Cost& o) {
    ops += o.ops;
    macs += o.macs;
    params += o.params;
    return *this;
  }
};

/// Accumulates the per-image cost of layers described by their shapes.
///
/// `ops` follows the original profiler's rules
/// (docs/architecture.md#counting-rules) exactly, quirks included: depthwise
/// convolutions are multiplied by `groups`, pools count their integer kernel
/// size, BatchNorm and ReLU count elements. `macs` counts true
/// multiply-accumulates of convolutions and linear layers only (the usual
/// convention: BN, activations and pools are not MACs). `params` counts
/// trainable parameters.
class CostCounter {
 public:
  /// A square Conv2d; returns the output side.
  int64_t conv(
      int64_t in_channels,
      int64_t out_channels,
      int64_t side,
      int64_t kernel,
      int64_t stride,
      int64_t padding,
      bool bias,
      int64_t groups = 1);
  /// A BatchNorm2d over `channels` x side x side.
  void batch_norm(int64_t channels, int64_t side);
  /// A ReLU over `numel` elements.
  void relu(int64_t numel);
  /// MaxPool2d(kernel) (stride = kernel, no padding); returns the output side.
  int64_t max_pool(int64_t channels, int64_t side, int64_t kernel);
  /// AvgPool2d(kernel) (stride = kernel, no padding); returns the output side.
  int64_t avg_pool(int64_t channels, int64_t side, int64_t kernel);
  /// A Linear layer.
  void linear(int64_t in_features, int64_t out_features, bool bias = true);
  /// Parameters that belong to no layer above (an IC's alpha).
  void add_params(int64_t count);
  /// A cost counted elsewhere (a branch of a block).
  void add(const Cost& cost);

  /// The cost accumulated so far.
  const Cost& total() const {
    return total_;
  }
  /// Returns the cost accumulated so far and starts again from zero.
  Cost take();

 private:
  Cost total_;
};

/// One image's feature map followed through layers, counting each layer's
/// cost with a CostCounter from the layer's own options (channels, kernel,
/// stride, padding, bias, groups). A block states its cost by tracing the
/// modules its forward runs, right beside that forward, so the module
/// description and the cost description cannot drift apart.
///
/// Every method throws sdn::Error when the layer does not fit the map
/// (channels, non-square kernels, strides or paddings).
class CostTrace {
 public:
  /// A map of `channels` x `side` x `side` (one image), cost zero.
  CostTrace(int64_t channels, int64_t side);

  /// A Conv2d: the map becomes its output.
  void conv(const torch::nn::Conv2dImpl& conv);
  /// A BatchNorm2d over the map.
  void batch_norm(const torch::nn::BatchNorm2dImpl& bn);
  /// A ReLU over the map.
  void relu();
  /// MaxPool2d(kernel) (stride = kernel, no padding).
  void max_pool(int64_t kernel);
  /// AvgPool2d(kernel) (stride = kernel, no padding).
  void avg_pool(int64_t kernel);
  /// Flatten: the map becomes C * H * W channels of side 1 (free).
  void flatten();
  /// A Linear layer on a flattened map: its outputs become the channels.
  void linear(const torch::nn::LinearImpl& linear);
  /// Adds the cost of `branch`, a trace that started where this one's
  /// input was (a residual shortcut), and checks that both end at the same
  /// shape (the residual sum).
  void join(const CostTrace& branch);

  /// A trace at this one's map with cost zero: the start of a branch.
  CostTrace branch() const;
  /// The map's shape [C, H, W].
  std::vector<int64_t> shape() const {
    return {channels_, side_, side_};
  }
  /// Features of the last flatten() (its C * H * W); 0 before any.
  int64_t flattened() const {
    return flattened_;
  }
  /// Returns the cost counted so far and starts again from zero.
  Cost take() {
    return counter_.take();
  }

 private:
  CostCounter counter_;
  int64_t channels_;
  int64_t side_;
  int64_t flattened_ = 0;
};

} // namespace sdn::models
