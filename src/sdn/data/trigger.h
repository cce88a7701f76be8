#pragma once

// The backdoor trigger of docs/exit-trace.md#backdoor: a white square on raw
// pixels.

#include "sdn/data/dataset.h"

#include <cstdint>

namespace sdn::data {

/// Where the trigger goes and which class it points to.
struct TriggerOptions {
  int64_t x = 26; ///< Column of the square's top-left corner.
  int64_t y = 26; ///< Row of the square's top-left corner.
  int64_t size = 5; ///< Side of the square in pixels.
  int64_t target = 5; ///< Label given to poisoned samples.

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// A copy of uint8 images [N, C, H, W] with a white (255 in every channel)
/// size x size square whose top-left corner is at column x, row y. Applied on
/// raw pixels, before normalisation. Throws when the square does not fit.
torch::Tensor apply_trigger(
    const torch::Tensor& images,
    const TriggerOptions& options);

/// The same samples with the trigger on every image; labels kept (to measure
/// accuracy on triggered inputs) or, with `relabel`, set to options.target
/// (to measure attack success).
Dataset triggered(
    const Dataset& dataset,
    const TriggerOptions& options,
    bool relabel);

/// A poisoned copy of `dataset`: round(rate * N) samples, drawn under `seed`
/// among those whose label is not options.target, get the trigger and the
/// label options.target; all others are unchanged. rate in [0, 1]; throws when
/// there are too few non-target samples.
Dataset poison(
    const Dataset& dataset,
    double rate,
    const TriggerOptions& options,
    uint64_t seed);

} // namespace sdn::data
