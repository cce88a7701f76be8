#include "sdn/util/allocator.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

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

unsigned long long mapped_bytes() {
  FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) {
    return 0;
  }
  char line[256];
  unsigned long long kib = 0;
  while (std::fgets(line, sizeof line, status) != nullptr) {
    if (std::strncmp(line, "VmSize:", 7) == 0) {
      kib = std::strtoull(line + 7, nullptr, 10);
      break;
    }
  }
  std::fclose(status);
  return kib << 10;
}

std::optional<unsigned long long> address_space_left() {
  struct rlimit limit {};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::nullopt;
  }
  const unsigned long long mapped = mapped_bytes();
  if (mapped == 0) {
    return std::nullopt;
  }
  return limit.rlim_cur > mapped ? limit.rlim_cur - mapped : 0;
}

} // namespace sdn
