#pragma once

// A deterministic synthetic image classification data set for tests and demos.

#include "sdn/data/dataset.h"

namespace sdn::data {

/// Generates train (options.synthetic_train) and test (synthetic_test)
/// samples, deterministic under options.seed. Each class has a smooth random
/// prototype per channel; a sample is its class prototype shifted by up to
/// kMaxShift pixels, blended with another class's prototype by up to 50 % and
/// given Gaussian pixel noise, both scaled by a per-sample difficulty drawn
/// uniformly in [0, 1]: easy samples are clean, hard ones are ambiguous.
/// Labels are balanced (counts differ by at most one).
Splits make_synthetic_splits(const DataOptions& options);

} // namespace sdn::data
