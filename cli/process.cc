#include "cli/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "core/logging.h"

namespace lightrl {
namespace {

int g_signal_pipe[2] = {-1, -1};

void OnSignal(int signal) {
  int saved = errno;
  unsigned char byte = static_cast<unsigned char>(signal);
  // A full pipe drops the byte; enough are already waiting to wake the reader.
  ssize_t ignored = write(g_signal_pipe[1], &byte, 1);
  (void)ignored;
  errno = saved;
}

}  // namespace

void InstallSignalPipe() {
  if (g_signal_pipe[0] >= 0) return;
  CHECK_EQ(pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK), 0) << "pipe2 failed";
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int signal : {SIGINT, SIGTERM, SIGUSR1, SIGCHLD}) {
    CHECK_EQ(sigaction(signal, &action, nullptr), 0);
  }
}

int SignalPipeFd() { return g_signal_pipe[0]; }

int NextSignal() {
  unsigned char byte;
  return read(g_signal_pipe[0], &byte, 1) == 1 ? byte : 0;
}

ShutdownCause WaitForShutdown() {
  while (true) {
    pollfd p{SignalPipeFd(), POLLIN, 0};
    poll(&p, 1, -1);
    while (int signal = NextSignal()) {
      if (signal == SIGUSR1) return ShutdownCause::kFinished;
      if (signal == SIGINT || signal == SIGTERM) return ShutdownCause::kSignal;
    }
  }
}

void NotifyFinished() { kill(getpid(), SIGUSR1); }

Status SetUpLogging(const std::string& tag, const std::string& log_level) {
  SetLogTag(tag);
  LogLevel level;
  if (!ParseLogLevel(log_level, &level)) {
    return InvalidArgumentError("--log_level: expected debug, info, warning or error, got '" +
                                log_level + "'");
  }
  SetMinLogLevel(level);
  return Status::Ok();
}

StatusOr<std::unique_ptr<HttpServer>> StartMetricsServer(
    const std::string& listen_address, const MetricsRegistry* metrics,
    std::map<std::string, HttpHandler> routes) {
  ASSIGN_OR_RETURN(HttpServerConfig http, ParseListenAddress(listen_address));
  ASSIGN_OR_RETURN(auto server, HttpServer::Start(http, metrics, nullptr, std::move(routes)));
  LOG(INFO) << "metrics on http://" << http.bind_address << ":" << server->port() << "/metrics";
  return server;
}

}  // namespace lightrl
