// `lightrl echo --config RUN.yaml --id echo-0`: an echo worker process (smoke cluster).
#include "cli/commands.h"
#include "cli/worker_process.h"
#include "core/logging.h"
#include "smoke/echo_worker.h"

namespace lightrl {

int EchoCommand(int argc, char** argv) {
  return RunWorkerProcess(
      argc, argv, "echo", [](const WorkerContext& w) -> StatusOr<std::function<void()>> {
        EchoWorkerConfig config;
        config.identity.worker_id = w.worker_id;
        config.identity.max_in_flight = static_cast<uint32_t>(w.run->echo.max_in_flight);
        config.identity.metrics_port = w.metrics_port;
        config.work_delay_ms = w.run->echo.work_delay_ms;
        ASSIGN_OR_RETURN(std::shared_ptr<EchoWorker> worker,
                         EchoWorker::Start(*w.zmq, w.run->cluster, config, w.metrics));
        worker->OnShutdown(w.request_shutdown);
        return std::function<void()>([worker] {
          worker->Stop();
          LOG(INFO) << "echo worker: " << worker->Summary();
        });
      });
}

}  // namespace lightrl
