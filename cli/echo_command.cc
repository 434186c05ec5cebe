// `lightrl echo --config RUN.yaml --id echo-0`: an echo worker process (smoke cluster).
#include <unistd.h>

#include <zmq.hpp>

#include "actors/actor.h"
#include "actors/echo_worker.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/process.h"
#include "cli/run_config.h"
#include "core/logging.h"

namespace lightrl {

std::string DefaultWorkerId(const std::string& role) {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return role + "-" + host + "-" + std::to_string(getpid());
}

int EchoCommand(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  BlockShutdownSignals();
  std::string id = FLAGS_id.empty() ? DefaultWorkerId("echo") : FLAGS_id;
  MetricsRegistry metrics;
  auto http = StartProcess(id, FLAGS_log_level, FLAGS_metrics_address, &metrics);
  if (!http.ok()) {
    LOG(ERROR) << http.status();
    return 2;
  }
  auto run = LoadRunConfig(FLAGS_config, SplitOverrides(FLAGS_set));
  if (!run.ok()) {
    LOG(ERROR) << run.status();
    return 2;
  }
  EchoWorkerConfig config;
  config.identity.worker_id = id;
  config.identity.max_in_flight = static_cast<uint32_t>(run->echo.max_in_flight);
  config.identity.metrics_port = static_cast<uint16_t>((*http)->port());
  config.work_delay_ms = run->echo.work_delay_ms;
  zmq::context_t context(1);
  std::unique_ptr<EchoWorker> worker;
  auto actor = Actor::Start(
      id,
      [&](EventLoop& loop) -> Status {
        ASSIGN_OR_RETURN(worker, EchoWorker::Create(context, &loop, run->cluster, config, &metrics));
        worker->OnShutdown([] { NotifyFinished(); });
        return Status::Ok();
      },
      [&] {
        if (worker) LOG(INFO) << "echo worker: " << worker->Summary();
        worker.reset();
      });
  if (!actor.ok()) {
    LOG(ERROR) << actor.status();
    return 2;
  }
  ShutdownCause cause = WaitForShutdown();
  LOG(INFO) << (cause == ShutdownCause::kSignal ? "stopping on signal"
                                                : "stopping: the coordinator asked");
  (*actor)->Stop();
  return 0;
}

}  // namespace lightrl
