#pragma once

#include <torch/types.h>

#include <cstdint>
#include <utility>

namespace sdn::heads {

/// Max and average pooling of `x` [N, C, H, W] over non-overlapping k x k
/// windows (stride k, floor mode: Ho = H / k), computed together.
///
/// Values and gradients equal `torch::max_pool2d(x, k, k)` and
/// `torch::avg_pool2d(x, k, k)` (same scan order, same tie and NaN rule: the
/// first maximum in row-major window order wins, a NaN wins), but on CPU for
/// float tensors it reads `x` once forward and writes its gradient once
/// backward: no zero-fill, no contiguous copy of `x`, no separate add of the
/// two pools' gradients. That is what the internal classifiers' mixed
/// pooling costs in an SDN training step (docs/performance.md). The outputs
/// and the gradient keep `x`'s memory format (NCHW or channels-last).
///
/// Other devices and dtypes, k > 16, or an input that is neither NCHW- nor
/// channels-last-contiguous fall back to the two ATen pools.
std::pair<torch::Tensor, torch::Tensor> max_avg_pool(
    const torch::Tensor& x,
    int64_t k);

/// Whether `max_avg_pool(x, k)` takes the fused path for this input.
bool max_avg_pool_is_fused(const torch::Tensor& x, int64_t k);

} // namespace sdn::heads
