#include "coordinator/coordinator.h"

#include <nlohmann/json.hpp>

#include "core/logging.h"

namespace lightrl {

StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(zmq::context_t& context, EventLoop* loop,
                                                           const CoordinatorConfig& config,
                                                           MetricsRegistry* metrics) {
  ASSIGN_OR_RETURN(auto socket, ZmqSocket::Create(context, SocketKind::kRouter, SocketOptions()));
  ASSIGN_OR_RETURN(std::string endpoint, socket->Bind(config.cluster.bind_endpoint()));
  MessengerConfig messenger_config;
  messenger_config.name = "coordinator";
  messenger_config.sender_id = "coordinator";
  messenger_config.limits = config.cluster.codec_limits();
  auto messenger = std::make_unique<Messenger>(loop, std::move(socket), messenger_config, metrics);
  auto registry = std::make_unique<WorkerRegistry>(loop, messenger.get(), config.cluster, metrics);
  std::unique_ptr<Coordinator> coordinator(
      new Coordinator(endpoint, std::move(messenger), std::move(registry)));
  Coordinator* self = coordinator.get();
  Millis shutdown_timeout(config.cluster.request_timeout_ms);
  if (config.echo_probe) {
    coordinator->echo_probe_ = std::make_unique<EchoProbe>(
        loop, self->messenger_.get(), self->registry_.get(), *config.echo_probe,
        [self, shutdown_timeout](const EchoProbeReport& report) {
          self->echo_report_ = report;
          self->Finish(report.ok(), shutdown_timeout);
        });
  }
  if (config.pipeline) {
    std::vector<std::unique_ptr<Task>> tasks;
    for (const TaskConfig& task : config.tasks) {
      ASSIGN_OR_RETURN(std::unique_ptr<Task> made, MakeTask(task));
      tasks.push_back(std::move(made));
    }
    ASSIGN_OR_RETURN(coordinator->pipeline_,
                     TrainingPipeline::Create(loop, self->messenger_.get(), self->registry_.get(),
                                              *config.pipeline, std::move(tasks), metrics));
    coordinator->pipeline_->OnFinished([self, shutdown_timeout] {
      bool balanced = self->pipeline_->accounting().balanced();
      if (!balanced) LOG(ERROR) << "group accounting does not balance";
      self->Finish(balanced, shutdown_timeout);
    });
  }
  LOG(INFO) << "coordinator listening on " << endpoint;
  return coordinator;
}

void Coordinator::Finish(bool success, Millis timeout) {
  registry_->BroadcastShutdown(
      "the run is finished", false, timeout, [this, success](size_t acknowledged) {
        LOG(INFO) << acknowledged << " worker(s) acknowledged the shutdown";
        if (on_finished_) on_finished_(success);
      });
}

std::string Coordinator::StatusJson() const {
  if (pipeline_) return pipeline_->StatusJson();
  nlohmann::json workers = nlohmann::json::array();
  for (const WorkerInfo& w : registry_->Workers()) {
    workers.push_back({{"id", w.id}, {"role", std::string(RoleName(w.role))}, {"pid", w.pid}});
  }
  return nlohmann::json({{"workers", workers}}).dump(2);
}

Coordinator::Coordinator(std::string endpoint, std::unique_ptr<Messenger> messenger,
                         std::unique_ptr<WorkerRegistry> registry)
    : endpoint_(std::move(endpoint)),
      messenger_(std::move(messenger)),
      registry_(std::move(registry)) {}

}  // namespace lightrl
