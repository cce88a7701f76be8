// Inference copies of a network: folded BatchNorms, channels-last weights.
#include "sdn/network/inference_copy.h"

#include "sdn/network/memory_format.h"
#include "sdn/util/error.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <mutex>

namespace sdn::network {

void InferenceCopyOptions::validate() const {
  check(
      device == "cpu" || device.rfind("cuda", 0) == 0,
      "--device must be cpu or cuda[:N], got '",
      device,
      "'");
}

namespace {

// Restores the default CPU generator's state when it goes out of scope:
// building modules initialises weights from it, and an inference copy must
// not shift the random streams of the caller.
class KeepGeneratorState {
 public:
  KeepGeneratorState() : generator_(at::detail::getDefaultCPUGenerator()) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    state_ = generator_.get_state();
  }
  ~KeepGeneratorState() {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_state(state_);
  }
  KeepGeneratorState(const KeepGeneratorState&) = delete;
  KeepGeneratorState& operator=(const KeepGeneratorState&) = delete;

 private:
  at::Generator generator_;
  torch::Tensor state_;
};

} // namespace

SdnNetwork copy_network(const SdnNetworkImpl& network) {
  check(!network.folded(), "cannot copy a network whose BatchNorms are folded");
  KeepGeneratorState keep;
  SdnNetwork copy(network.options());
  copy_tensors(network, *copy, TensorCopy::kClone, "copy_network");
  copy->train(network.is_training());
  return copy;
}

SdnNetwork inference_copy(
    const SdnNetworkImpl& network,
    const InferenceCopyOptions& options) {
  options.validate();
  KeepGeneratorState keep;
  auto copy = copy_network(network);
  copy->eval();
  if (options.fold_batch_norm) {
    copy->fold_batch_norm();
  }
  copy->to(torch::Device(options.device));
  if (options.channels_last) {
    to_channels_last(*copy);
  }
  return copy;
}

} // namespace sdn::network
