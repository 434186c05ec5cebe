// Test helpers: child processes and raw TCP clients for tests that need real processes and
// real sockets. Test-only; not linked into lightrl binaries.
#ifndef LIGHTRL_TESTS_UTIL_SUBPROCESS_H_
#define LIGHTRL_TESTS_UTIL_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"

namespace lightrl::testing {

// A child process started with fork+exec. The destructor SIGKILLs and reaps it if still running.
class Subprocess {
 public:
  // Starts `argv[0]` with `argv`; stdout and stderr go to `log_path` when it is not empty.
  static StatusOr<Subprocess> Start(const std::vector<std::string>& argv,
                                    const std::string& log_path = "");
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Sends `signal`.
  void Kill(int signal);
  // Waits up to `timeout` for exit; returns the wait status, or DeadlineExceeded.
  StatusOr<int> Wait(std::chrono::milliseconds timeout);

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// Path of a file in the build tree that built this test (e.g. "lightrl").
std::string BuildPath(const std::string& relative);
// Path of a file in the source tree (configs, fixtures).
std::string SourcePath(const std::string& relative);

// Connects to 127.0.0.1:`port`, writes `request`, and reads until the peer closes or
// `timeout` passes. Returns what was read.
StatusOr<std::string> TcpExchange(int port, const std::string& request,
                                  std::chrono::milliseconds timeout);
// Opens a TCP connection to 127.0.0.1:`port` and returns the fd (caller closes).
StatusOr<int> TcpConnect(int port);
// Reads from `fd` until EOF or `timeout`; returns the bytes and sets *eof.
std::string ReadUntilClose(int fd, std::chrono::milliseconds timeout, bool* eof);

// Runs a shell command with `input` on stdin; returns its exit code and output.
struct CommandResult {
  int exit_code;
  std::string output;
};
StatusOr<CommandResult> RunCommand(const std::string& command, const std::string& input);

// Waits until the file at `path` contains `text` (checking every 10 ms) or `timeout` passes;
// returns the file's content either way and sets *found.
std::string WaitForFileContaining(const std::string& path, const std::string& text,
                                  std::chrono::milliseconds timeout, bool* found);

// Reads a whole file.
StatusOr<std::string> ReadFile(const std::string& path);
// A fresh empty directory under TMPDIR (or /tmp), unique per call. It is removed, with its
// contents, when the test process that made it exits normally (KEEP_TEST_DIRS=1 keeps it,
// for looking into a failure).
std::string MakeTempDir(const std::string& prefix);

}  // namespace lightrl::testing

#endif  // LIGHTRL_TESTS_UTIL_SUBPROCESS_H_
