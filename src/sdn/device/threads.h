#pragma once

namespace sdn {

/// Sets LibTorch's intra-op thread count. `requested <= 0` means one thread per
/// core (LibTorch itself defaults to one here). Returns the count in force.
///
/// Also runs the BLAS single-threaded (set_blas_threads(1)) unless the user
/// set OPENBLAS_NUM_THREADS: ATen does the same for MKL. The BLAS only does
/// the classifiers' small matrix products here, and OpenBLAS's own idle
/// threads spin on sched_yield between calls, taking the cores from the
/// intra-op threads (docs/performance.md). `sdn` sets OPENBLAS_NUM_THREADS=1
/// before the libraries start (marked by SDN_OPENBLAS_DEFAULTED, which this
/// treats as not set by the user), so OpenBLAS starts no idle workers.
///
/// Under an address-space limit (ulimit -v) it also has each intra-op thread
/// make one small product, so that OpenBLAS allocates its work buffers now:
/// OpenBLAS retries a failed buffer allocation forever, and a limit reached
/// later would hang the process instead of failing. Throws sdn::Error when
/// the limit leaves too little room for them (docs/reliability.md). Under
/// such a limit it also turns oneDNN off (ATen's own convolutions, slower):
/// oneDNN crashes instead of failing when an allocation fails.
int configure_threads(int requested);

/// Number of hardware threads (at least 1).
int hardware_threads();

/// Threads of the BLAS LibTorch's matrix products go through, or 0 when the
/// loaded BLAS offers no way to ask (the reference BLAS, MKL, ...).
int blas_threads();

/// Sets the BLAS's thread count when it can be set (OpenBLAS); `n <= 0`
/// restores the BLAS's default (the count it started with; one per core when
/// the one-thread start was sdn's default). Returns blas_threads().
int set_blas_threads(int n);

} // namespace sdn
