#include "sdn/util/allocator.h"

// Any C library header defines __GLIBC__ under glibc; without one, the
// check below would silently compile the no-op branch.
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sdn {

namespace {

/// glibc's ceiling for M_MMAP_THRESHOLD on 64-bit (HEAP_MAX_SIZE / 2); one
/// ResNet-56 activation at batch 256 is 16 MiB.
constexpr int kMmapThreshold = 32 * 1024 * 1024;
/// Never give the heap's top back to the kernel below this much free memory.
constexpr int kTrimThreshold = 1024 * 1024 * 1024;

} // namespace

bool keep_freed_memory() {
#if defined(__GLIBC__)
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  return mmap_ok && trim_ok;
#else
  return false;
#endif
}

} // namespace sdn
