// The coordinator process's actor: the ROUTER socket every worker connects to, the worker
// registry, and the workload it drives: the training pipeline (prompt groups to rollout
// actors, completions to reward workers, scored groups to the learner), or the echo probe of
// the smoke cluster.
//
// Thread-safety: none; lives on the coordinator actor's thread. Query it through Actor::Call.
#ifndef LIGHTRL_COORDINATOR_COORDINATOR_H_
#define LIGHTRL_COORDINATOR_COORDINATOR_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actors/worker_registry.h"
#include "coordinator/training_pipeline.h"
#include "smoke/echo_probe.h"
#include "tasks/task_config.h"

namespace lightrl {

struct CoordinatorConfig {
  ClusterConfig cluster;
  std::optional<EchoProbeConfig> echo_probe{};  // The smoke workload, when configured.
  std::optional<PipelineConfig> pipeline{};     // The training workload, when configured.
  std::vector<TaskConfig> tasks{};              // Prompt sources of the pipeline.
};

class Coordinator {
 public:
  // Binds cluster.bind_endpoint(). `loop` and `metrics` must outlive the coordinator.
  // Errors: Unavailable when the endpoint cannot be bound; task or snapshot errors.
  static StatusOr<std::unique_ptr<Coordinator>> Create(zmq::context_t& context, EventLoop* loop,
                                                       const CoordinatorConfig& config,
                                                       MetricsRegistry* metrics);

  // The endpoint actually bound (resolves tcp://host:0 to the chosen port).
  const std::string& endpoint() const { return endpoint_; }
  WorkerRegistry& registry() { return *registry_; }
  Messenger& messenger() { return *messenger_; }

  // Runs when the configured workload has finished and every worker has acknowledged its
  // Shutdown (or failed to within the request timeout).
  // `success` is false when the workload found wrong results.
  void OnFinished(std::function<void(bool success)> callback) {
    on_finished_ = std::move(callback);
  }
  const std::optional<EchoProbeReport>& echo_report() const { return echo_report_; }
  // Null unless the training workload is configured.
  const TrainingPipeline* pipeline() const { return pipeline_.get(); }
  // JSON for `lightrl status`: the workers, and the pipeline's accounting when it runs.
  std::string StatusJson() const;

 private:
  Coordinator(std::string endpoint, std::unique_ptr<Messenger> messenger,
              std::unique_ptr<WorkerRegistry> registry);
  // Asks every worker to stop, then reports `success`.
  void Finish(bool success, Millis timeout);

  std::string endpoint_;
  std::unique_ptr<Messenger> messenger_;
  std::unique_ptr<WorkerRegistry> registry_;
  std::unique_ptr<EchoProbe> echo_probe_;
  std::unique_ptr<TrainingPipeline> pipeline_;
  std::optional<EchoProbeReport> echo_report_;
  std::function<void(bool)> on_finished_;
};

}  // namespace lightrl

#endif  // LIGHTRL_COORDINATOR_COORDINATOR_H_
