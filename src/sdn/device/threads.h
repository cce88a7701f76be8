#pragma once

namespace sdn {

/// Sets LibTorch's intra-op thread count. `requested <= 0` means one thread per
/// core (LibTorch itself defaults to one here). Returns the count in force.
///
/// Also runs the BLAS single-threaded (set_blas_threads(1)) unless the user
/// set OPENBLAS_NUM_THREADS: ATen does the same for MKL. The BLAS only does
/// the classifiers' small matrix products here, and OpenBLAS's own idle
/// threads spin on sched_yield between calls, taking the cores from the
/// intra-op threads (docs/performance.md).
int configure_threads(int requested);

/// Number of hardware threads (at least 1).
int hardware_threads();

/// Threads of the BLAS LibTorch's matrix products go through, or 0 when the
/// loaded BLAS offers no way to ask (the reference BLAS, MKL, ...).
int blas_threads();

/// Sets the BLAS's thread count when it can be set (OpenBLAS); `n <= 0`
/// restores the count the BLAS started with. Returns blas_threads().
int set_blas_threads(int n);

} // namespace sdn
