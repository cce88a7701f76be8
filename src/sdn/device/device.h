#pragma once

#include <torch/types.h>

#include <string>

namespace sdn {

/// Parses a `--device` value ("cpu", "cuda", "cuda:N") and checks that it can
/// be used here: an unknown name, CUDA with a CPU-only LibTorch or no visible
/// GPU, or a GPU index beyond the visible ones throws `sdn::Error` naming the
/// value and what was expected, instead of LibTorch's message from deep
/// inside the first tensor copy.
torch::Device checked_device(const std::string& name);

} // namespace sdn
