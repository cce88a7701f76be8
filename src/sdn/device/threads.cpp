#include "sdn/device/threads.h"

#include "sdn/util/allocator.h"
#include "sdn/util/error.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <dlfcn.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

namespace sdn {

namespace {

/// OpenBLAS's run-time thread control, looked up in the process: LibTorch
/// reaches OpenBLAS through whatever provides libblas.so.3, so it may not be
/// there at all.
struct OpenBlas {
  int (*get)() = nullptr;
  void (*set)(int) = nullptr;
  int initial = 0;
};

const OpenBlas& openblas() {
  static const OpenBlas blas = [] {
    OpenBlas b;
    // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast)
    b.get = reinterpret_cast<int (*)()>(
        dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    b.set = reinterpret_cast<void (*)(int)>(
        dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
    if (b.get == nullptr || b.set == nullptr) {
      b.get = nullptr;
      b.set = nullptr;
    } else {
      b.initial = b.get();
    }
    return b;
  }();
  return blas;
}

// True when OPENBLAS_NUM_THREADS holds sdn's own default (set before the
// libraries started, tools/sdn/main.cpp), not the user's choice.
bool blas_threads_defaulted() {
  return std::getenv("SDN_OPENBLAS_DEFAULTED") != nullptr;
}

// OpenBLAS's work buffer per calling thread (BUFFER_SIZE of Debian's build:
// 128 MiB of address space, touched only as far as a product needs).
constexpr unsigned long long kBlasBuffer = 128ull << 20;

// OpenBLAS retries a failed allocation of its work buffer forever (a hang,
// not an error), and allocates it at a thread's first product. So under an
// address-space limit every intra-op thread makes one product now, while
// there is room, and the buffers are reused afterwards; when there is no
// room for them, that is an error now rather than a hang later.
void reserve_blas_buffers(int threads) {
  const auto left = address_space_left();
  if (!left || blas_threads() == 0) {
    return;
  }
  const unsigned long long need =
      static_cast<unsigned long long>(threads) * kBlasBuffer + (64ull << 20);
  check(
      *left >= need,
      "the address-space limit (ulimit -v) leaves ",
      *left >> 20,
      " MiB, but ",
      threads,
      " threads need at least ",
      need >> 20,
      " MiB for the BLAS's work buffers alone; raise the limit or lower "
      "--threads");
  const auto a = torch::ones({256, 256});
  at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      (void)torch::mm(a, a);
    }
  });
}

} // namespace

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int blas_threads() {
  const auto& blas = openblas();
  return blas.get != nullptr ? blas.get() : 0;
}

int set_blas_threads(int n) {
  const auto& blas = openblas();
  if (blas.set != nullptr) {
    const int fallback =
        blas_threads_defaulted() ? hardware_threads() : blas.initial;
    blas.set(n > 0 ? n : fallback);
  }
  return blas_threads();
}

int configure_threads(int requested) {
  const int n = requested > 0 ? requested : hardware_threads();
  at::set_num_threads(n);
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr ||
      blas_threads_defaulted()) {
    set_blas_threads(1);
  }
  reserve_blas_buffers(n);
  if (address_space_left()) {
    // oneDNN crashes (SIGSEGV in dnnl_primitive_create) when an allocation
    // fails while it generates a convolution's code; which limits hit it
    // moves with the memory layout of each build. ATen's own convolutions
    // fail with an error instead (docs/reliability.md#resource-limits).
    at::globalContext().setUserEnabledMkldnn(false);
  }
  return at::get_num_threads();
}

} // namespace sdn
