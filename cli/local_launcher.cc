#include "cli/local_launcher.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/process.h"
#include "core/logging.h"

namespace lightrl {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr char kControlSocket[] = "launcher.sock";
constexpr size_t kMaxRequestBytes = 256;

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

StatusOr<sockaddr_un> SocketAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgumentError(path + ": socket path too long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

struct LocalLauncher::Child {
  ProcessSpec spec;
  int index = 0;  // Position among the workers of its role.
  pid_t pid = -1;
  int restarts = 0;
  SteadyClock::time_point restart_at{};  // When pid == -1 and a restart is pending.
  bool exited = false;                   // Will not be (re)started any more.
  bool retiring = false;                 // Stopped by scaling down.
  int exit_code = 0;
};

LocalLauncher::LocalLauncher(LauncherPolicy policy, WorkerFactory factory, std::string run_dir)
    : policy_(policy), factory_(std::move(factory)), run_dir_(std::move(run_dir)) {}

LocalLauncher::~LocalLauncher() {
  if (control_fd_ >= 0) {
    close(control_fd_);
    std::filesystem::remove(run_dir_ + "/" + kControlSocket);
  }
}

void LocalLauncher::Add(ProcessSpec spec) {
  auto child = std::make_unique<Child>();
  child->index =
      static_cast<int>(std::count_if(children_.begin(), children_.end(),
                                     [&](const auto& c) { return c->spec.role == spec.role; }));
  child->spec = std::move(spec);
  children_.push_back(std::move(child));
}

Status LocalLauncher::Spawn(Child& child) {
  std::vector<char*> args;
  for (const std::string& a : child.spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return InternalError("fork " + child.spec.name + ": " + std::strerror(errno));
  if (pid == 0) {
    execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  LOG(INFO) << "started " << child.spec.name << " (pid " << pid << ")";
  child.pid = pid;
  WriteStatus();
  return Status::Ok();
}

void LocalLauncher::KillAll(int signal) {
  for (const auto& c : children_) {
    if (c->pid > 0) kill(c->pid, signal);
  }
}

void LocalLauncher::Enter(Phase next) {
  if (next <= phase_) return;
  phase_ = next;
  phase_started_ = SteadyClock::now();
  if (phase_ == Phase::kTerminating) KillAll(SIGTERM);
  if (phase_ == Phase::kKilling) {
    LOG(WARNING) << "grace period over: killing the remaining processes";
    KillAll(SIGKILL);
  }
}

void LocalLauncher::WriteStatus() const {
  if (run_dir_.empty()) return;
  nlohmann::json processes = nlohmann::json::array();
  for (const auto& c : children_) {
    if (c->exited) continue;
    processes.push_back({{"name", c->spec.name},
                         {"role", c->spec.role},
                         {"pid", c->pid},
                         {"restarts", c->restarts}});
  }
  std::ofstream(run_dir_ + "/launcher.json")
      << nlohmann::json({{"pid", getpid()}, {"processes", processes}}).dump(2) << "\n";
}

void LocalLauncher::ReapChildren() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (auto& owned : children_) {
      Child& c = *owned;
      if (c.pid != pid) continue;
      c.pid = -1;
      int code = ExitCodeOf(status);
      LOG(INFO) << c.spec.name << " exited with code " << code;
      if (c.spec.primary) {
        c.exited = true;
        c.exit_code = code;
        Enter(code == 0 ? Phase::kDraining : Phase::kTerminating);
      } else if (phase_ != Phase::kRunning || c.retiring || code == 0) {
        c.exited = true;
      } else if (c.restarts >= policy_.max_restarts) {
        c.exited = true;
        failure_ = AbortedError(c.spec.name + " crashed " + std::to_string(c.restarts + 1) +
                                " times; giving up");
        Enter(Phase::kTerminating);
      } else {
        int backoff = std::min(10000, policy_.restart_backoff_ms << std::min(c.restarts, 16));
        ++c.restarts;
        c.restart_at = SteadyClock::now() + std::chrono::milliseconds(backoff);
        LOG(WARNING) << c.spec.name << " crashed; restart " << c.restarts << " in " << backoff
                     << " ms";
      }
    }
  }
  WriteStatus();
}

void LocalLauncher::RestartDue() {
  if (phase_ != Phase::kRunning) return;
  SteadyClock::time_point now = SteadyClock::now();
  for (auto& c : children_) {
    if (c->pid > 0 || c->exited || now < c->restart_at) continue;
    Status started = Spawn(*c);
    if (!started.ok()) {
      failure_ = started;
      c->exited = true;
      Enter(Phase::kTerminating);
      return;
    }
  }
}

std::string LocalLauncher::Scale(const std::string& request) {
  std::istringstream in(request);
  std::string verb, item;
  in >> verb;
  if (verb != "scale") return "error: unknown command '" + verb + "' (expected: scale role=N ...)";
  if (phase_ != Phase::kRunning) return "error: the run is stopping";
  std::map<std::string, int> wanted;
  while (in >> item) {
    size_t eq = item.find('=');
    if (eq == std::string::npos) return "error: expected role=N, got '" + item + "'";
    std::string role = item.substr(0, eq);
    if (role != "rollout" && role != "reward") {
      return "error: only rollout and reward workers can be scaled, not '" + role + "'";
    }
    char* end = nullptr;
    long count = std::strtol(item.c_str() + eq + 1, &end, 10);
    if (*end != '\0' || count < 0 || count > 1024) return "error: bad count in '" + item + "'";
    wanted[role] = static_cast<int>(count);
  }
  if (wanted.empty()) return "error: nothing to scale";
  std::string answer = "ok";
  for (const auto& [role, count] : wanted) {
    std::vector<Child*> live;
    int next_index = 0;
    for (auto& c : children_) {
      if (c->spec.role != role) continue;
      next_index = std::max(next_index, c->index + 1);
      if (!c->exited && !c->retiring) live.push_back(c.get());
    }
    for (int n = static_cast<int>(live.size()); n < count; ++n) {
      Add(factory_(role, next_index));
      children_.back()->index = next_index++;
      Status started = Spawn(*children_.back());
      if (!started.ok()) return "error: " + started.ToString();
    }
    for (int n = static_cast<int>(live.size()); n > count; --n) {
      Child* newest = live[n - 1];
      newest->retiring = true;
      if (newest->pid > 0) {
        LOG(INFO) << "scaling down: stopping " << newest->spec.name;
        kill(newest->pid, SIGTERM);
      } else {
        newest->exited = true;
      }
    }
    answer += " " + role + "=" + std::to_string(count);
  }
  WriteStatus();
  return answer;
}

void LocalLauncher::ServeControl() {
  int fd = accept4(control_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  std::string request;
  char buf[64];
  pollfd p{fd, POLLIN, 0};
  // A client that sends nothing within a second is dropped; the launcher never blocks longer.
  while (request.find('\n') == std::string::npos && request.size() < kMaxRequestBytes &&
         poll(&p, 1, 1000) > 0) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  request = request.substr(0, request.find('\n'));
  std::string answer = Scale(request) + "\n";
  ssize_t ignored = write(fd, answer.data(), answer.size());
  (void)ignored;
  close(fd);
  LOG(INFO) << "control: '" << request << "' -> " << answer.substr(0, answer.size() - 1);
}

StatusOr<int> LocalLauncher::Run() {
  if (std::count_if(children_.begin(), children_.end(),
                    [](const auto& c) { return c->spec.primary; }) != 1) {
    return InvalidArgumentError("a local cluster needs exactly one primary process");
  }
  InstallSignalPipe();
  if (!run_dir_.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(run_dir_, ec);
    std::string path = run_dir_ + "/" + kControlSocket;
    std::filesystem::remove(path, ec);
    ASSIGN_OR_RETURN(sockaddr_un addr, SocketAddress(path));
    control_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (control_fd_ < 0 ||
        bind(control_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(control_fd_, 8) != 0) {
      return UnavailableError(path + ": cannot listen: " + std::strerror(errno));
    }
  }
  for (auto& c : children_) {
    failure_ = Spawn(*c);
    if (!failure_.ok()) break;
  }
  if (!failure_.ok()) Enter(Phase::kTerminating);
  const auto grace = std::chrono::milliseconds(policy_.shutdown_grace_ms);

  while (true) {
    bool any_running =
        std::any_of(children_.begin(), children_.end(), [](const auto& c) { return c->pid > 0; });
    if (phase_ != Phase::kRunning && !any_running) break;
    // Wake up for the next restart or the end of the current phase.
    SteadyClock::time_point wake = SteadyClock::now() + std::chrono::seconds(1);
    if (phase_ == Phase::kDraining || phase_ == Phase::kTerminating) {
      wake = std::min(wake, phase_started_ + grace);
    }
    for (const auto& c : children_) {
      if (phase_ == Phase::kRunning && c->pid < 0 && !c->exited)
        wake = std::min(wake, c->restart_at);
    }
    int timeout = static_cast<int>(std::max<long>(
        0,
        std::chrono::duration_cast<std::chrono::milliseconds>(wake - SteadyClock::now()).count()));
    pollfd fds[2] = {{SignalPipeFd(), POLLIN, 0}, {control_fd_, POLLIN, 0}};
    poll(fds, control_fd_ >= 0 ? 2 : 1, timeout);
    while (int signal = NextSignal()) {
      if (signal == SIGINT || signal == SIGTERM) {
        LOG(INFO) << "signal " << signal << ": stopping every process";
        Enter(Phase::kTerminating);
      }
    }
    if (control_fd_ >= 0 && (fds[1].revents & POLLIN)) ServeControl();
    ReapChildren();
    SteadyClock::time_point now = SteadyClock::now();
    if (phase_ == Phase::kDraining && now >= phase_started_ + grace) Enter(Phase::kTerminating);
    if (phase_ == Phase::kTerminating && now >= phase_started_ + grace) Enter(Phase::kKilling);
    RestartDue();
  }
  if (!failure_.ok()) return failure_;
  for (const auto& c : children_) {
    if (c->spec.primary) return c->exited ? c->exit_code : 128 + SIGTERM;
  }
  return 128 + SIGTERM;
}

StatusOr<std::string> SendLauncherCommand(const std::string& run_dir, const std::string& request) {
  std::string path = run_dir + "/" + kControlSocket;
  ASSIGN_OR_RETURN(sockaddr_un addr, SocketAddress(path));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return UnavailableError(path + ": no launcher is listening (" + why + ")");
  }
  std::string line = request + "\n";
  ssize_t written = write(fd, line.data(), line.size());
  std::string answer;
  char buf[256];
  pollfd p{fd, POLLIN, 0};
  while (written > 0 && poll(&p, 1, 10000) > 0) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (answer.empty()) return UnavailableError(path + ": the launcher did not answer");
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  return answer;
}

}  // namespace lightrl
