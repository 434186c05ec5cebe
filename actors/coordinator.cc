#include "actors/coordinator.h"

#include "core/logging.h"

namespace lightrl {

StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(zmq::context_t& context,
                                                           EventLoop* loop,
                                                           const CoordinatorConfig& config,
                                                           MetricsRegistry* metrics) {
  ASSIGN_OR_RETURN(auto socket, ZmqSocket::Create(context, SocketKind::kRouter, SocketOptions()));
  ASSIGN_OR_RETURN(std::string endpoint, socket->Bind(config.cluster.bind_endpoint()));
  MessengerConfig messenger_config;
  messenger_config.name = "coordinator";
  messenger_config.sender_id = "coordinator";
  messenger_config.limits = config.cluster.codec_limits();
  auto messenger =
      std::make_unique<Messenger>(loop, std::move(socket), messenger_config, metrics);
  auto registry = std::make_unique<WorkerRegistry>(loop, messenger.get(), config.cluster, metrics);
  std::unique_ptr<Coordinator> coordinator(
      new Coordinator(endpoint, std::move(messenger), std::move(registry)));
  if (config.echo_probe) {
    Coordinator* self = coordinator.get();
    coordinator->echo_probe_ = std::make_unique<EchoProbe>(
        loop, self->messenger_.get(), self->registry_.get(), *config.echo_probe,
        [self, config](const EchoProbeReport& report) {
          self->echo_report_ = report;
          self->registry_->BroadcastShutdown(
              "echo probe finished", false, Millis(config.cluster.request_timeout_ms),
              [self, ok = report.ok()](size_t acknowledged) {
                LOG(INFO) << acknowledged << " worker(s) acknowledged the shutdown";
                if (self->on_finished_) self->on_finished_(ok);
              });
        });
  }
  LOG(INFO) << "coordinator listening on " << endpoint;
  return coordinator;
}

Coordinator::Coordinator(std::string endpoint, std::unique_ptr<Messenger> messenger,
                         std::unique_ptr<WorkerRegistry> registry)
    : endpoint_(std::move(endpoint)),
      messenger_(std::move(messenger)),
      registry_(std::move(registry)) {}

}  // namespace lightrl
