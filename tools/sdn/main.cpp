// The `sdn` command (everything is in tools/sdn/commands.cpp and the cmd_*
// files, so that tests can parse command lines in process), and what must
// happen before LibTorch's own start-up code runs.
#include "commands.h"

#include "sdn/util/allocator.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// Address space sdn needs beyond what is mapped when its first code runs
// (LibTorch's libraries): LibTorch's static initialisers, the intra-op
// thread pools and their stacks, and a small first workload. Measured
// (docs/reliability.md#resource-limits): below about +100 MiB LibTorch's
// start-up aborts or a thread pool waits forever for a thread that could
// not be created.
constexpr unsigned long long kStartMargin = 256ull << 20;

// Runs before any shared library's initialiser (ELF DT_PREINIT_ARRAY), so
// before LibTorch and OpenBLAS start anything:
// - OpenBLAS starts its worker threads when it loads unless
//   OPENBLAS_NUM_THREADS is set; sdn runs the BLAS on one thread by
//   default anyway (device/threads.h), so it asks for one thread here and
//   no worker is ever started (SDN_OPENBLAS_DEFAULTED marks the value as
//   sdn's, not the user's);
// - under an address-space limit (ulimit -v) too small to start, it stops
//   with an error instead of letting LibTorch abort or hang.
void before_libraries(int /*argc*/, char** /*argv*/, char** /*envp*/) {
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("SDN_OPENBLAS_DEFAULTED", "1", 1);
  }
  struct rlimit limit {};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return;
  }
  const unsigned long long mapped = sdn::mapped_bytes();
  const unsigned long long need = mapped + kStartMargin;
  if (mapped > 0 && limit.rlim_cur < need) {
    std::fprintf(
        stderr,
        "error: the address-space limit (ulimit -v) is %llu MiB, but sdn "
        "needs at least %llu MiB to start (%llu MiB of libraries are mapped "
        "already); raise the limit\n",
        static_cast<unsigned long long>(limit.rlim_cur) >> 20,
        need >> 20,
        mapped >> 20);
    _exit(1);
  }
}

__attribute__((
    section(".preinit_array"),
    used)) void (*const run_before)(int, char**, char**) = before_libraries;

} // namespace

int main(int argc, char** argv) {
  return sdn::cli::run_command_line(argc, argv);
}
