#include "sdn/device/device.h"

#include "sdn/util/error.h"

#include <torch/cuda.h>

#include <optional>

namespace sdn {

torch::Device checked_device(const std::string& name) {
  std::optional<torch::Device> device;
  try {
    device.emplace(name);
  } catch (const c10::Error&) {
    fail("--device ", name, ": expected cpu, cuda or cuda:N");
  }
  check(
      device->is_cpu() || device->is_cuda(),
      "--device ",
      name,
      ": expected cpu, cuda or cuda:N");
  if (device->is_cuda()) {
    check(
        torch::cuda::is_available(),
        "--device ",
        name,
        ": CUDA is not available (this LibTorch is CPU-only or no GPU is "
        "visible); use --device cpu or build against a CUDA LibTorch");
    const auto count = static_cast<int64_t>(torch::cuda::device_count());
    check(
        !device->has_index() || device->index() < count,
        "--device ",
        name,
        ": only ",
        count,
        " CUDA device(s) visible (cuda:0 ... cuda:",
        count - 1,
        ")");
  }
  return *device;
}

} // namespace sdn
