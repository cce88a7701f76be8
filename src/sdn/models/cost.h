#pragma once

#include "sdn/models/backbone.h"

#include <cstdint>
#include <vector>

namespace sdn::models {

/// Accumulates the per-image cost of layers described by their shapes.
///
/// `ops` follows the original profiler's rules (spec 7.1) exactly, quirks
/// included: depthwise convolutions are multiplied by `groups`, pools count
/// their integer kernel size, BatchNorm and ReLU count elements. `macs`
/// counts true multiply-accumulates of convolutions and linear layers only
/// (the usual convention: BN, activations and pools are not MACs).
/// `params` counts trainable parameters.
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

  /// The cost accumulated so far.
  const Cost& total() const {
    return total_;
  }
  /// Returns the cost accumulated so far and starts again from zero.
  Cost take();

 private:
  Cost total_;
};

/// Per-image shapes and costs of a backbone's pieces, filled when it is built.
struct BackboneProfile {
  Cost stem; ///< Cost of the stem.
  std::vector<Cost> blocks; ///< Cost of each block.
  std::vector<std::vector<int64_t>> features; ///< [C, H, W] an IC sees.
  Cost head; ///< Cost of the head.
  int64_t head_features = 0; ///< Inputs of the head's first linear layer.

  /// Throws sdn::Error unless 0 <= i < blocks.size(), naming `what`.
  void check_block(int64_t i) const;
};

} // namespace sdn::models
