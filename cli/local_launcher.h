// The local launcher behind `lightrl run`: starts every role of a run as a child process on
// this machine and supervises them.
//
//   - The primary process (the coordinator) decides the run: when it exits, the others get
//     SIGTERM, then SIGKILL after the grace period, and its exit code is the run's.
//   - A secondary process (a worker) that dies while the run goes on is restarted after a
//     backoff that doubles per restart (up to 10 s); after max_restarts the run fails.
//   - SIGINT/SIGTERM to the launcher are forwarded as SIGTERM to every child; the launcher
//     then waits for them as above.
//
// Must be used from the main thread before any other thread exists (it changes the signal
// mask and reaps children with signalfd). Not thread-safe.
#ifndef LIGHTRL_CLI_LOCAL_LAUNCHER_H_
#define LIGHTRL_CLI_LOCAL_LAUNCHER_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"

namespace lightrl {

struct ProcessSpec {
  std::string name;               // For logs, e.g. "echo-0".
  std::vector<std::string> argv;  // argv[0] is the executable path.
  bool primary = false;
};

struct LauncherPolicy {
  int restart_backoff_ms = 200;
  int max_restarts = 5;
  int shutdown_grace_ms = 10000;
};

// Runs `processes` (exactly one primary) until the primary exits or a signal arrives.
// Returns the primary's exit code (128 + signal number if it was killed), or an error when a
// process cannot be started or a worker exceeded its restarts.
StatusOr<int> RunLocalCluster(const std::vector<ProcessSpec>& processes,
                              const LauncherPolicy& policy);

}  // namespace lightrl

#endif  // LIGHTRL_CLI_LOCAL_LAUNCHER_H_
