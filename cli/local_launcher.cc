#include "cli/local_launcher.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

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

StatusOr<pid_t> Spawn(const ProcessSpec& spec, const sigset_t& blocked) {
  std::vector<char*> args;
  for (const std::string& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return InternalError("fork " + spec.name + ": " + std::strerror(errno));
  if (pid == 0) {
    sigprocmask(SIG_UNBLOCK, &blocked, nullptr);  // The mask survives exec; restore it.
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
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
  int sfd = signalfd(-1, &blocked, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return InternalError(std::string("signalfd: ") + std::strerror(errno));

  std::vector<Child> children;
  for (const ProcessSpec& spec : processes) children.push_back(Child{&spec});
  auto kill_all = [&](int signal) {
    for (Child& c : children) {
      if (c.pid > 0) kill(c.pid, signal);
    }
  };
  Status failure;
  for (Child& c : children) {
    StatusOr<pid_t> pid = Spawn(*c.spec, blocked);
    if (!pid.ok()) {
      failure = pid.status();
      break;
    }
    c.pid = *pid;
  }

  bool stopping = !failure.ok();
  if (stopping) kill_all(SIGTERM);
  SteadyClock::time_point stop_started = SteadyClock::now();
  bool killed = false;
  Child* primary = &*std::find_if(children.begin(), children.end(),
                                  [](const Child& c) { return c.spec->primary; });
  auto begin_stop = [&] {
    if (stopping) return;
    stopping = true;
    stop_started = SteadyClock::now();
    kill_all(SIGTERM);
  };

  while (true) {
    bool any_running = std::any_of(children.begin(), children.end(),
                                   [](const Child& c) { return c.pid > 0; });
    if (stopping && !any_running) break;
    // Wake up for the next restart or the end of the grace period.
    SteadyClock::time_point wake = SteadyClock::now() + std::chrono::seconds(1);
    if (stopping && !killed) {
      wake = std::min(wake, stop_started + std::chrono::milliseconds(policy.shutdown_grace_ms));
    }
    for (const Child& c : children) {
      if (!stopping && c.pid < 0 && !c.exited) wake = std::min(wake, c.restart_at);
    }
    int timeout = static_cast<int>(std::max<long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(wake - SteadyClock::now())
               .count()));
    pollfd p{sfd, POLLIN, 0};
    if (poll(&p, 1, timeout) > 0) {
      signalfd_siginfo info;
      while (read(sfd, &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM) {
          LOG(INFO) << "signal " << info.ssi_signo << ": stopping every process";
          begin_stop();
        }
        if (info.ssi_signo != SIGCHLD) continue;
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
              begin_stop();
            } else if (stopping || code == 0) {
              c.exited = true;
            } else if (c.restarts >= policy.max_restarts) {
              c.exited = true;
              failure = AbortedError(c.spec->name + " crashed " + std::to_string(c.restarts + 1) +
                                     " times; giving up");
              begin_stop();
            } else {
              int backoff = std::min(10000, policy.restart_backoff_ms << std::min(c.restarts, 16));
              ++c.restarts;
              c.restart_at = SteadyClock::now() + std::chrono::milliseconds(backoff);
              LOG(WARNING) << c.spec->name << " crashed; restart " << c.restarts << " in "
                           << backoff << " ms";
            }
          }
        }
      }
    }
    SteadyClock::time_point now = SteadyClock::now();
    if (stopping && !killed &&
        now >= stop_started + std::chrono::milliseconds(policy.shutdown_grace_ms)) {
      LOG(WARNING) << "grace period over: killing the remaining processes";
      kill_all(SIGKILL);
      killed = true;
    }
    if (!stopping) {
      for (Child& c : children) {
        if (c.pid > 0 || c.exited || now < c.restart_at) continue;
        StatusOr<pid_t> pid = Spawn(*c.spec, blocked);
        if (!pid.ok()) {
          failure = pid.status();
          c.exited = true;
          begin_stop();
          break;
        }
        c.pid = *pid;
      }
    }
  }
  close(sfd);
  sigprocmask(SIG_UNBLOCK, &blocked, nullptr);
  if (!failure.ok()) return failure;
  return primary->exited ? primary->exit_code : 128 + SIGTERM;
}

}  // namespace lightrl
