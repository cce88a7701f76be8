#pragma once

// Local data-parallel launcher (`sdn launch`): one process per rank with the
// environment that c10d's env:// rendezvous reads (as torchrun sets it),
// signals forwarded, and the whole group stopped as soon as one rank fails.

#include <string>
#include <vector>

namespace sdn::app {

/// What to launch.
struct LaunchOptions {
  /// Ranks to start (>= 1).
  int nproc = 0;
  /// Rendezvous port on 127.0.0.1, in [0, 65535]; 0 picks a free one.
  int port = 0;
  /// The program every rank runs (`sdn launch` passes its own binary).
  std::string executable;
  /// Its arguments (after argv[0]); must not be empty.
  std::vector<std::string> arguments;

  /// Throws sdn::Error naming the first bad option (-n, --port, the command).
  void validate() const;
};

/// `command` with `--threads T` put in front when it does not set --threads
/// itself: T = `threads` when > 0, else the cores shared among `nproc` ranks
/// (at least 1), so that N ranks do not oversubscribe the cores.
std::vector<std::string> with_rank_threads(
    const std::vector<std::string>& command,
    int threads,
    int nproc);

/// Starts the ranks with WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE,
/// MASTER_ADDR (127.0.0.1) and MASTER_PORT set (the rest of the environment
/// is inherited), prints their pids to stderr and waits for all of them.
/// SIGINT, SIGTERM and SIGHUP are forwarded to the ranks; a rank that fails
/// (non-zero exit or a signal) gets the others a SIGTERM, then a SIGKILL
/// after a grace period. A rank dies with the launcher (PR_SET_PDEATHSIG).
/// Returns when every rank exited 0; throws sdn::Error naming the first rank
/// that failed and how, or the signal that interrupted the launch.
void launch(const LaunchOptions& options);

/// The path of the running executable (/proc/self/exe). Throws sdn::Error
/// when it cannot be read.
std::string self_executable();

} // namespace sdn::app
