#include "sdn/device/threads.h"

#include <ATen/Parallel.h>

#include <dlfcn.h>

#include <cstdlib>
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
    blas.set(n > 0 ? n : blas.initial);
  }
  return blas_threads();
}

int configure_threads(int requested) {
  const int n = requested > 0 ? requested : hardware_threads();
  at::set_num_threads(n);
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) {
    set_blas_threads(1);
  }
  return at::get_num_threads();
}

} // namespace sdn
