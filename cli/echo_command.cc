// `lightrl echo --config RUN.yaml --id echo-0`: an echo worker process (smoke cluster).
#include "actors/actor.h"
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
        // The worker lives on its actor: created in setup, destroyed in teardown.
        auto worker = std::make_shared<std::unique_ptr<EchoWorker>>();
        ASSIGN_OR_RETURN(std::shared_ptr<Actor> actor,
                         Actor::Start(
                             w.worker_id,
                             [w, config, worker](EventLoop& loop) -> Status {
                               ASSIGN_OR_RETURN(*worker,
                                                EchoWorker::Create(*w.zmq, &loop, w.run->cluster,
                                                                   config, w.metrics));
                               (*worker)->OnShutdown(w.request_shutdown);
                               return Status::Ok();
                             },
                             [worker] {
                               if (*worker) LOG(INFO) << "echo worker: " << (*worker)->Summary();
                               worker->reset();
                             }));
        return std::function<void()>([actor] { actor->Stop(); });
      });
}

}  // namespace lightrl
