#pragma once

#include "sdn/network/sdn_network.h"

#include <string>

namespace sdn::network {

/// How to prepare a network for inference.
struct InferenceCopyOptions {
  /// Fold BatchNorms into the convolutions (outputs equal within float
  /// rounding, fewer kernels per block).
  bool fold_batch_norm = true;
  bool channels_last = true; ///< NHWC weights (faster convolutions on CPU).
  std::string device = "cpu"; ///< Where the copy lives.

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// A deep copy of `network` (not folded): same options, every parameter and
/// buffer copied bit for bit, the same top-level training mode. Leaves the
/// default generator's state as it was (building the copy draws from it).
SdnNetwork copy_network(const SdnNetworkImpl& network);

/// An eval-mode copy of `network` for inference on `options.device`, its
/// BatchNorms folded and its weights channels-last as asked. `network` itself
/// is not changed. Its outputs equal `network`'s eval-mode outputs, bit for
/// bit without folding, within float rounding with it.
SdnNetwork inference_copy(
    const SdnNetworkImpl& network,
    const InferenceCopyOptions& options);

} // namespace sdn::network
