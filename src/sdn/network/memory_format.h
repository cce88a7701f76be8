#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

namespace sdn::network {

/// Converts every 4-D parameter and buffer of `module` to channels-last
/// memory format in place (LibTorch C++ has no Module::to(memory_format)).
/// Convolutions then run NHWC kernels, much faster on CPU for the narrow,
/// high-resolution early stages.
void to_channels_last(torch::nn::Module& module);

/// `x` in channels-last layout when `channels_last` and 4-D, else as is.
torch::Tensor maybe_channels_last(const torch::Tensor& x, bool channels_last);

} // namespace sdn::network
