#pragma once

namespace sdn {

/// Sets LibTorch's intra-op thread count. `requested <= 0` means one thread per
/// core (LibTorch itself defaults to one here). Returns the count in force.
int configure_threads(int requested);

/// Number of hardware threads (at least 1).
int hardware_threads();

} // namespace sdn
