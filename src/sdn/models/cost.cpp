// Analytic cost counting: LibTorch C++ has no forward hooks, so every
// backbone describes its layers to this counter as it builds them.
#include "sdn/models/cost.h"

#include "sdn/util/error.h"

namespace sdn::models {

int64_t CostCounter::conv(
    int64_t in_channels,
    int64_t out_channels,
    int64_t side,
    int64_t kernel,
    int64_t stride,
    int64_t padding,
    bool bias,
    int64_t groups) {
  const int64_t out_side = (side + 2 * padding - kernel) / stride + 1;
  const int64_t out_numel = out_channels * out_side * out_side;
  const int64_t taps = kernel * kernel * in_channels / groups;
  // The original profiler multiplies by `groups` once more: for depthwise
  // convolutions that inflates the count by the channel count (spec 14.6).
  total_.ops += static_cast<double>((2 * taps - 1 + (bias ? 1 : 0))) *
      static_cast<double>(out_numel) * static_cast<double>(groups);
  total_.macs += static_cast<double>(taps) * static_cast<double>(out_numel);
  total_.params += taps * out_channels + (bias ? out_channels : 0);
  return out_side;
}

void CostCounter::batch_norm(int64_t channels, int64_t side) {
  total_.ops += 2.0 * static_cast<double>(channels * side * side);
  total_.params += 2 * channels;
}

void CostCounter::relu(int64_t numel) {
  total_.ops += static_cast<double>(numel);
}

int64_t CostCounter::max_pool(int64_t channels, int64_t side, int64_t kernel) {
  const int64_t out_side = side / kernel;
  total_.ops +=
      static_cast<double>((kernel - 1) * channels * out_side * out_side);
  return out_side;
}

int64_t CostCounter::avg_pool(int64_t channels, int64_t side, int64_t kernel) {
  const int64_t out_side = side / kernel;
  total_.ops += static_cast<double>(kernel * channels * out_side * out_side);
  return out_side;
}

void CostCounter::linear(int64_t in_features, int64_t out_features, bool bias) {
  // The profiler ignores the bias addition.
  total_.ops += static_cast<double>((2 * in_features - 1) * out_features);
  total_.macs += static_cast<double>(in_features * out_features);
  total_.params += in_features * out_features + (bias ? out_features : 0);
}

void CostCounter::add_params(int64_t count) {
  total_.params += count;
}

Cost CostCounter::take() {
  Cost result = total_;
  total_ = Cost{};
  return result;
}

void BackboneProfile::check_block(int64_t i) const {
  check(
      i >= 0 && i < static_cast<int64_t>(blocks.size()),
      "block index ",
      i,
      " out of range [0, ",
      blocks.size(),
      ")");
}

} // namespace sdn::models
