#include "sdn/network/memory_format.h"

#include <torch/torch.h>

namespace sdn::network {

namespace {

/// `t` in channels-last strides. `contiguous(ChannelsLast)` returns a tensor
/// with one channel ([N, 1, H, W], a first conv's [O, 1, k, k] weight) as it
/// is: its NCHW strides also count as channels-last, but LibTorch then
/// *suggests* NCHW, so the convolution (and every op that follows its output
/// format) runs NCHW. Fresh channels-last storage has strides LibTorch
/// recognises: for one channel that is the difference between no speed-up
/// and the full channels-last speed-up on Fashion-MNIST. Like
/// `contiguous(ChannelsLast)`, it returns a dense tensor: a strided view whose
/// strides merely look channels-last is copied.
torch::Tensor channels_last_strides(const torch::Tensor& t) {
  if (t.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
      t.suggest_memory_format() == torch::MemoryFormat::ChannelsLast) {
    return t;
  }
  auto out = torch::empty(
      t.sizes(), t.options().memory_format(torch::MemoryFormat::ChannelsLast));
  out.copy_(t);
  return out;
}

} // namespace

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) {
      p.set_data(channels_last_strides(p.data()));
    }
  }
  for (auto& b : module.buffers()) {
    if (b.dim() == 4) {
      b.set_data(channels_last_strides(b.data()));
    }
  }
}

torch::Tensor maybe_channels_last(const torch::Tensor& x, bool channels_last) {
  if (!channels_last || x.dim() != 4) {
    return x;
  }
  return channels_last_strides(x);
}

} // namespace sdn::network
