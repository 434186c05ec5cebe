#include "tests/util/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace lightrl::testing {

StatusOr<Subprocess> Subprocess::Start(const std::vector<std::string>& argv,
                                       const std::string& log_path) {
  if (argv.empty()) return InvalidArgumentError("empty argv");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return InternalError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (!log_path.empty()) {
      int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
      }
    }
    execv(args[0], args.data());
    _exit(127);
  }
  return Subprocess(pid);
}

Subprocess::Subprocess(Subprocess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void Subprocess::Kill(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

StatusOr<int> Subprocess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return FailedPreconditionError("process already reaped");
  // A pidfd becomes readable when the process exits.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) return InternalError(std::string("pidfd_open: ") + std::strerror(errno));
  pollfd p{pidfd, POLLIN, 0};
  int ready = poll(&p, 1, static_cast<int>(timeout.count()));
  close(pidfd);
  if (ready == 0) {
    return DeadlineExceededError("process " + std::to_string(pid_) + " still running");
  }
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) {
    return InternalError(std::string("waitpid: ") + std::strerror(errno));
  }
  pid_ = -1;
  return status;
}

std::string BuildPath(const std::string& relative) {
  return std::string(LIGHTRL_BINARY_DIR) + "/" + relative;
}

std::string SourcePath(const std::string& relative) {
  return std::string(LIGHTRL_SOURCE_DIR) + "/" + relative;
}

StatusOr<int> TcpConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return InternalError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    return UnavailableError(std::string("connect: ") + std::strerror(err));
  }
  return fd;
}

std::string ReadUntilClose(int fd, std::chrono::milliseconds timeout, bool* eof) {
  std::string out;
  *eof = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) break;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      *eof = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

StatusOr<std::string> TcpExchange(int port, const std::string& request,
                                  std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(int fd, TcpConnect(port));
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // The server may close early (e.g. on an oversized header).
    sent += static_cast<size_t>(n);
  }
  bool eof = false;
  std::string response = ReadUntilClose(fd, timeout, &eof);
  close(fd);
  return response;
}

StatusOr<CommandResult> RunCommand(const std::string& command, const std::string& input) {
  std::string dir = MakeTempDir("cmd");
  std::string in_path = dir + "/stdin";
  std::string out_path = dir + "/stdout";
  {
    std::ofstream in(in_path, std::ios::binary);
    in << input;
  }
  std::string full = "(" + command + ") < '" + in_path + "' > '" + out_path + "' 2>&1";
  int status = std::system(full.c_str());
  if (status == -1) return InternalError("system() failed");
  ASSIGN_OR_RETURN(std::string output, ReadFile(out_path));
  return CommandResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string WaitForFileContaining(const std::string& path, const std::string& text,
                                  std::chrono::milliseconds timeout, bool* found) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    StatusOr<std::string> content = ReadFile(path);
    std::string got = content.ok() ? *content : "";
    *found = got.find(text) != std::string::npos;
    if (*found || std::chrono::steady_clock::now() >= deadline) return got;
    // Another process writes the file; there is nothing to wait on but its content.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

// The directories MakeTempDir made; the process that made them removes them at exit (a
// forked child that exits does not).
class TempDirs {
 public:
  ~TempDirs() {
    if (getpid() != owner_ || std::getenv("KEEP_TEST_DIRS") != nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& dir : dirs_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }
  void Add(const std::string& dir) {
    std::lock_guard<std::mutex> lock(mu_);
    dirs_.push_back(dir);
  }

 private:
  const pid_t owner_ = getpid();
  std::mutex mu_;
  std::vector<std::string> dirs_;
};

TempDirs& MadeTempDirs() {
  static TempDirs dirs;
  return dirs;
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base ? base : "/tmp") + "/lightrl-" + prefix + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  char* dir = mkdtemp(buf.data());
  if (dir == nullptr) return std::string();
  MadeTempDirs().Add(dir);
  return dir;
}

}  // namespace lightrl::testing
