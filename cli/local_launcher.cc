#include "cli/local_launcher.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "cli/process.h"
#include "core/logging.h"

namespace lightrl {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Child {
  const ProcessSpec* spec;
  pid_t pid = -1;
  int restarts = 0;
  SteadyClock::time_point restart_at{};  // When pid == -1 and a restart is pending.
  bool exited = false;
  int exit_code = 0;
};

StatusOr<pid_t> Spawn(const ProcessSpec& spec) {
  std::vector<char*> args;
  for (const std::string& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return InternalError("fork " + spec.name + ": " + std::strerror(errno));
  if (pid == 0) {
    execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  LOG(INFO) << "started " << spec.name << " (pid " << pid << ")";
  return pid;
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace

StatusOr<int> RunLocalCluster(const std::vector<ProcessSpec>& processes,
                              const LauncherPolicy& policy) {
  if (std::count_if(processes.begin(), processes.end(),
                    [](const ProcessSpec& p) { return p.primary; }) != 1) {
    return InvalidArgumentError("a local cluster needs exactly one primary process");
  }
  InstallSignalPipe();
  std::vector<Child> children;
  for (const ProcessSpec& spec : processes) children.push_back(Child{&spec});
  auto kill_all = [&](int signal) {
    for (Child& c : children) {
      if (c.pid > 0) kill(c.pid, signal);
    }
  };
  Status failure;
  for (Child& c : children) {
    StatusOr<pid_t> pid = Spawn(*c.spec);
    if (!pid.ok()) {
      failure = pid.status();
      break;
    }
    c.pid = *pid;
  }

  // Stopping goes in phases: wait for voluntary exits (after a successful primary, whose
  // Shutdown messages make the workers finish their own way), then SIGTERM, then SIGKILL.
  enum class Phase { kRunning, kDraining, kTerminating, kKilling };
  Phase phase = Phase::kRunning;
  SteadyClock::time_point phase_started = SteadyClock::now();
  auto enter = [&](Phase next) {
    if (next <= phase) return;
    phase = next;
    phase_started = SteadyClock::now();
    if (phase == Phase::kTerminating) kill_all(SIGTERM);
    if (phase == Phase::kKilling) {
      LOG(WARNING) << "grace period over: killing the remaining processes";
      kill_all(SIGKILL);
    }
  };
  if (!failure.ok()) enter(Phase::kTerminating);
  Child* primary = &*std::find_if(children.begin(), children.end(),
                                  [](const Child& c) { return c.spec->primary; });
  const auto grace = std::chrono::milliseconds(policy.shutdown_grace_ms);

  while (true) {
    bool any_running = std::any_of(children.begin(), children.end(),
                                   [](const Child& c) { return c.pid > 0; });
    if (phase != Phase::kRunning && !any_running) break;
    // Wake up for the next restart or the end of the current phase.
    SteadyClock::time_point wake = SteadyClock::now() + std::chrono::seconds(1);
    if (phase != Phase::kRunning && phase != Phase::kKilling) wake = std::min(wake, phase_started + grace);
    for (const Child& c : children) {
      if (phase == Phase::kRunning && c.pid < 0 && !c.exited) wake = std::min(wake, c.restart_at);
    }
    int timeout = static_cast<int>(std::max<long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(wake - SteadyClock::now())
               .count()));
    pollfd p{SignalPipeFd(), POLLIN, 0};
    poll(&p, 1, timeout);
    while (int signal = NextSignal()) {
      if (signal == SIGINT || signal == SIGTERM) {
        LOG(INFO) << "signal " << signal << ": stopping every process";
        enter(Phase::kTerminating);
      }
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      for (Child& c : children) {
        if (c.pid != pid) continue;
        c.pid = -1;
        int code = ExitCodeOf(status);
        LOG(INFO) << c.spec->name << " exited with code " << code;
        if (c.spec->primary) {
          c.exited = true;
          c.exit_code = code;
          enter(code == 0 ? Phase::kDraining : Phase::kTerminating);
        } else if (phase != Phase::kRunning || code == 0) {
          c.exited = true;
        } else if (c.restarts >= policy.max_restarts) {
          c.exited = true;
          failure = AbortedError(c.spec->name + " crashed " + std::to_string(c.restarts + 1) +
                                 " times; giving up");
          enter(Phase::kTerminating);
        } else {
          int backoff = std::min(10000, policy.restart_backoff_ms << std::min(c.restarts, 16));
          ++c.restarts;
          c.restart_at = SteadyClock::now() + std::chrono::milliseconds(backoff);
          LOG(WARNING) << c.spec->name << " crashed; restart " << c.restarts << " in " << backoff
                       << " ms";
        }
      }
    }
    SteadyClock::time_point now = SteadyClock::now();
    if (phase == Phase::kDraining && now >= phase_started + grace) enter(Phase::kTerminating);
    if (phase == Phase::kTerminating && now >= phase_started + grace) enter(Phase::kKilling);
    if (phase == Phase::kRunning) {
      for (Child& c : children) {
        if (c.pid > 0 || c.exited || now < c.restart_at) continue;
        StatusOr<pid_t> started = Spawn(*c.spec);
        if (!started.ok()) {
          failure = started.status();
          c.exited = true;
          enter(Phase::kTerminating);
          break;
        }
        c.pid = *started;
      }
    }
  }
  if (!failure.ok()) return failure;
  return primary->exited ? primary->exit_code : 128 + SIGTERM;
}

}  // namespace lightrl
