#include "sdn/network/memory_format.h"

#include <torch/torch.h>

namespace sdn::network {

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) {
      p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  for (auto& b : module.buffers()) {
    if (b.dim() == 4) {
      b.set_data(b.data().contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
}

torch::Tensor maybe_channels_last(const torch::Tensor& x, bool channels_last) {
  if (!channels_last || x.dim() != 4) {
    return x;
  }
  return x.contiguous(torch::MemoryFormat::ChannelsLast);
}

} // namespace sdn::network
