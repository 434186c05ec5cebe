#include "cli/process.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "core/logging.h"

namespace lightrl {
namespace {

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  return set;
}

}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ShutdownCause WaitForShutdown() {
  sigset_t set = ShutdownSignals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal == SIGUSR1 ? ShutdownCause::kFinished : ShutdownCause::kSignal;
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
