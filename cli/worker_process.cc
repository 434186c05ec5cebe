#include "cli/worker_process.h"

#include <unistd.h>

#include "cli/flags.h"
#include "cli/process.h"
#include "core/logging.h"

namespace lightrl {

std::string DefaultWorkerId(const std::string& role) {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return role + "-" + host + "-" + std::to_string(getpid());
}

int RunWorkerProcess(int argc, char** argv, const std::string& role, const StartWorker& start) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  InstallSignalPipe();
  std::string id = FLAGS_id.empty() ? DefaultWorkerId(role) : FLAGS_id;
  Status logging = SetUpLogging(id, FLAGS_log_level);
  MetricsRegistry metrics;
  auto http = logging.ok() ? StartMetricsServer(FLAGS_metrics_address, &metrics)
                           : StatusOr<std::unique_ptr<HttpServer>>(logging);
  if (!http.ok()) {
    LOG(ERROR) << http.status();
    return 2;
  }
  auto run = LoadRunConfig(FLAGS_config, SplitOverrides(FLAGS_set));
  if (!run.ok()) {
    LOG(ERROR) << run.status();
    return 2;
  }
  zmq::context_t context(1);
  WorkerContext worker{&context, &*run,
                       id,       static_cast<uint16_t>((*http)->port()),
                       &metrics, [] { NotifyFinished(); }};
  StatusOr<std::function<void()>> stop = start(worker);
  if (!stop.ok()) {
    LOG(ERROR) << role << " failed to start: " << stop.status();
    return 1;
  }
  ShutdownCause cause = WaitForShutdown();
  LOG(INFO) << (cause == ShutdownCause::kSignal ? "stopping on signal"
                                                : "stopping: the coordinator asked");
  (*stop)();
  return 0;
}

}  // namespace lightrl
