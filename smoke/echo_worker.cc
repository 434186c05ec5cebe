#include "smoke/echo_worker.h"

#include <chrono>

#include "core/logging.h"

namespace lightrl {

StatusOr<std::unique_ptr<EchoWorker>> EchoWorker::Start(zmq::context_t& context,
                                                        const ClusterConfig& cluster,
                                                        const EchoWorkerConfig& config,
                                                        MetricsRegistry* metrics) {
  std::unique_ptr<EchoWorker> worker(new EchoWorker(config, metrics));
  WorkerNodeOptions options;
  options.identity = config.identity;
  options.identity.role = proto::Role::ECHO;
  options.cluster = cluster;
  ASSIGN_OR_RETURN(
      worker->node_,
      WorkerNode<std::string>::Start(
          context, options, metrics, [](WorkerNode<std::string>& node, EventLoop&) {
            node.Serve(BodyKind::ECHO, [](const IncomingMessage& m) -> StatusOr<std::string> {
              auto payload = m.envelope().getBody().getEcho().getPayload();
              return std::string(reinterpret_cast<const char*>(payload.begin()), payload.size());
            });
            return Status::Ok();
          }));
  EchoWorker* self = worker.get();
  worker->thread_ = std::thread([self] { self->ServeLoop(); });
  return worker;
}

EchoWorker::EchoWorker(const EchoWorkerConfig& config, MetricsRegistry* metrics)
    : config_(config),
      served_(metrics->GetCounter("lightrl_echo_served_total", "Echo requests answered.")) {}

EchoWorker::~EchoWorker() { Stop(); }

void EchoWorker::OnShutdown(std::function<void()> callback) {
  node_->OnShutdown(std::move(callback));
}

void EchoWorker::Stop() {
  if (node_ == nullptr) return;
  node_->CloseQueue();
  if (thread_.joinable()) thread_.join();
  node_->Stop();
}

std::string EchoWorker::Summary() const {
  return "served " + std::to_string(static_cast<int64_t>(served_->value())) +
         ", queue high water " + std::to_string(node_->in_flight_high_water()) + " of " +
         std::to_string(node_->capacity()) + ", refused " + std::to_string(node_->unsolicited());
}

void EchoWorker::ServeLoop() {
  while (std::optional<Work<std::string>> work = node_->jobs().Pop()) {
    if (config_.work_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.work_delay_ms));  // The work.
    }
    OutgoingMessage reply(work->job.size() + 256);
    reply.envelope().getBody().initEcho().setPayload(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(work->job.data()), work->job.size()));
    node_->Reply(work->request, std::move(reply));
    served_->Increment();
  }
}

}  // namespace lightrl
