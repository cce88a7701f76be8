// Analytic cost counting: LibTorch C++ has no forward hooks, so every block
// traces the layers its forward runs (CostTrace) when the backbone is built.
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
  // convolutions that inflates the count by the channel count
  // (docs/quirks.md#the-profilers-counting-rules).
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

void CostCounter::add(const Cost& cost) {
  total_ += cost;
}

Cost CostCounter::take() {
  Cost result = total_;
  total_ = Cost{};
  return result;
}

namespace {

// The one value of a square Conv2d hyper-parameter, named for the error.
int64_t square(
    const torch::ExpandingArray<2>& value,
    const char* what,
    const torch::nn::Conv2dImpl& conv) {
  check(
      value->at(0) == value->at(1),
      "cost counting expects a square ",
      what,
      ", got ",
      value,
      " in ",
      conv.options.in_channels(),
      " -> ",
      conv.options.out_channels(),
      " conv");
  return value->at(0);
}

} // namespace

CostTrace::CostTrace(int64_t channels, int64_t side)
    : channels_(channels), side_(side) {}

void CostTrace::conv(const torch::nn::Conv2dImpl& conv) {
  const auto& o = conv.options;
  check(
      o.in_channels() == channels_,
      "cost counting: a conv with ",
      o.in_channels(),
      " input channels on a map of ",
      channels_);
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  check(padding != nullptr, "cost counting expects a numeric conv padding");
  side_ = counter_.conv(
      o.in_channels(),
      o.out_channels(),
      side_,
      square(o.kernel_size(), "kernel", conv),
      square(o.stride(), "stride", conv),
      square(*padding, "padding", conv),
      o.bias(),
      o.groups());
  channels_ = o.out_channels();
}

void CostTrace::batch_norm(const torch::nn::BatchNorm2dImpl& bn) {
  check(
      bn.options.num_features() == channels_,
      "cost counting: a BatchNorm of ",
      bn.options.num_features(),
      " features on a map of ",
      channels_,
      " channels");
  counter_.batch_norm(channels_, side_);
}

void CostTrace::relu() {
  counter_.relu(channels_ * side_ * side_);
}

void CostTrace::max_pool(int64_t kernel) {
  side_ = counter_.max_pool(channels_, side_, kernel);
}

void CostTrace::avg_pool(int64_t kernel) {
  side_ = counter_.avg_pool(channels_, side_, kernel);
}

void CostTrace::flatten() {
  channels_ *= side_ * side_;
  side_ = 1;
  flattened_ = channels_;
}

void CostTrace::linear(const torch::nn::LinearImpl& linear) {
  const auto& o = linear.options;
  check(
      side_ == 1 && o.in_features() == channels_,
      "cost counting: a Linear of ",
      o.in_features(),
      " inputs on a map of ",
      torch::IntArrayRef(shape()));
  counter_.linear(o.in_features(), o.out_features(), o.bias());
  channels_ = o.out_features();
}

void CostTrace::join(const CostTrace& branch) {
  check(
      branch.shape() == shape(),
      "cost counting: a branch ending at ",
      torch::IntArrayRef(branch.shape()),
      " joins a map of ",
      torch::IntArrayRef(shape()));
  const Cost& cost = branch.counter_.total();
  counter_.add(cost);
}

CostTrace CostTrace::branch() const {
  return CostTrace(channels_, side_);
}

} // namespace sdn::models
