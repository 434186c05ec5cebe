// The local launcher behind `lightrl run`: starts every role of a run as a child process on
// this machine and supervises them.
//
//   - The primary process (the coordinator) decides the run, and its exit code is the run's.
//     When it exits with 0 the others have been told to stop: they get the grace period to
//     exit on their own, then SIGTERM, then SIGKILL after another grace period. When it fails,
//     they get SIGTERM at once.
//   - A secondary process (a worker) that dies while the run goes on is restarted after a
//     backoff that doubles per restart (up to 10 s); after max_restarts the run fails.
//   - SIGINT/SIGTERM to the launcher are forwarded as SIGTERM to every child; the launcher
//     then waits for them as above.
//
// Uses the signal pipe of cli/process.h and reaps children with waitpid(-1), so the calling
// process must have no other children. Not thread-safe.
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
