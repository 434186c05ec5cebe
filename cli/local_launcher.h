// The local launcher behind `lightrl run`: starts every role of a run as a child process on
// this machine and supervises them.
//
//   - The primary process (the coordinator) decides the run, and its exit code is the run's.
//     When it exits with 0 the others have been told to stop: they get the grace period to
//     exit on their own, then SIGTERM, then SIGKILL after another grace period. When it fails,
//     they get SIGTERM at once.
//   - A worker that dies while the run goes on is restarted after a backoff that doubles per
//     restart (up to 10 s); after max_restarts the run fails.
//   - SIGINT/SIGTERM to the launcher are forwarded as SIGTERM to every child (the learner
//     writes a final checkpoint), then SIGKILL after the grace period.
//   - Scaling: `lightrl scale rollout=N reward=M` connects to <run_dir>/launcher.sock; the
//     launcher starts workers of that role (ids continue from the highest) or stops the
//     newest ones with SIGTERM, and answers "ok rollout=N reward=M" (or "error: ...").
//   - <run_dir>/launcher.json always lists the live processes (name, role, pid, restarts).
//
// Uses the signal pipe of cli/process.h and reaps children with waitpid(-1), so the calling
// process must have no other children. Not thread-safe.
#ifndef LIGHTRL_CLI_LOCAL_LAUNCHER_H_
#define LIGHTRL_CLI_LOCAL_LAUNCHER_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace lightrl {

struct ProcessSpec {
  std::string name;               // For logs, e.g. "rollout-0".
  std::string role;               // "coordinator", "learner", "rollout", ...
  std::vector<std::string> argv;  // argv[0] is the executable path.
  bool primary = false;
};

struct LauncherPolicy {
  int restart_backoff_ms = 200;
  int max_restarts = 5;
  int shutdown_grace_ms = 10000;
};

// Builds the spec of worker `index` of `role` (for scaling up).
using WorkerFactory = std::function<ProcessSpec(const std::string& role, int index)>;

class LocalLauncher {
 public:
  // `run_dir` holds launcher.sock and launcher.json ("" disables both, and scaling).
  LocalLauncher(LauncherPolicy policy, WorkerFactory factory, std::string run_dir);
  ~LocalLauncher();

  void Add(ProcessSpec spec);
  // Runs until the primary exits or a signal arrives. Returns the primary's exit code (128 +
  // signal number if it was killed), or an error when a process cannot be started, the
  // control socket cannot be created, or a worker exceeded its restarts.
  StatusOr<int> Run();

  LocalLauncher(const LocalLauncher&) = delete;
  LocalLauncher& operator=(const LocalLauncher&) = delete;

 private:
  struct Child;
  enum class Phase { kRunning, kDraining, kTerminating, kKilling };

  void Enter(Phase next);
  void ReapChildren();
  void RestartDue();
  void ServeControl();
  std::string Scale(const std::string& request);
  void WriteStatus() const;
  void KillAll(int signal);
  Status Spawn(Child& child);

  LauncherPolicy policy_;
  WorkerFactory factory_;
  std::string run_dir_;
  std::vector<std::unique_ptr<Child>> children_;
  int control_fd_ = -1;
  Phase phase_ = Phase::kRunning;
  std::chrono::steady_clock::time_point phase_started_;
  Status failure_;
};

// Sends `request` (e.g. "scale rollout=3") to the launcher of `run_dir` and returns its answer.
// Errors: Unavailable when no launcher listens there.
StatusOr<std::string> SendLauncherCommand(const std::string& run_dir, const std::string& request);

}  // namespace lightrl

#endif  // LIGHTRL_CLI_LOCAL_LAUNCHER_H_
