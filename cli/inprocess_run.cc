#include "cli/inprocess_run.h"

#include <zmq.hpp>

#include "actors/actor.h"
#include "cli/process.h"
#include "cli/reports.h"
#include "coordinator/coordinator.h"
#include "core/logging.h"

namespace lightrl {

int RunInProcess(RunConfig run, const std::string& metrics_address) {
  InstallSignalPipe();
  if (!run.training()) {
    LOG(ERROR) << run.path << ": the threads placement runs training runs only";
    return 2;
  }
  run.cluster.coordinator_endpoint = "inproc://lightrl-coordinator";
  run.cluster.coordinator_bind.clear();
  run.learner.cluster = run.rollout.cluster = run.reward.cluster = run.cluster;
  run.learner.weights_bind = "inproc://lightrl-learner-weights";
  zmq::context_t context(1);

  MetricsRegistry coordinator_metrics;
  CoordinatorConfig config{run.cluster, std::nullopt, run.pipeline, run.tasks};
  std::unique_ptr<Coordinator> coordinator;
  bool success = false;
  auto actor = Actor::Start(
      "coordinator",
      [&](EventLoop& loop) -> Status {
        ASSIGN_OR_RETURN(coordinator,
                         Coordinator::Create(context, &loop, config, &coordinator_metrics));
        coordinator->OnFinished([&success](bool ok) {
          success = ok;
          NotifyFinished();
        });
        return Status::Ok();
      },
      [&] {
        if (coordinator) PrintFinalReport(*coordinator);
        coordinator.reset();
      });
  if (!actor.ok()) {
    LOG(ERROR) << actor.status();
    return 1;
  }
  auto http = StartMetricsServer(metrics_address, &coordinator_metrics);
  if (!http.ok()) {
    LOG(ERROR) << http.status();
    return 2;
  }

  // Every worker node gets its own registry (not served) so their metrics do not mix.
  std::vector<std::unique_ptr<MetricsRegistry>> registries;
  auto registry = [&] {
    registries.push_back(std::make_unique<MetricsRegistry>());
    return registries.back().get();
  };
  std::vector<std::function<void()>> stops;
  Status started = [&]() -> Status {
    LearnerNodeConfig learner = run.learner;
    ASSIGN_OR_RETURN(std::shared_ptr<LearnerNode> node,
                     LearnerNode::Start(context, learner, registry()));
    stops.push_back([node] { node->Stop().IgnoreError(); });
    for (int i = 0; i < run.launcher.rollout_workers; ++i) {
      RolloutNodeConfig rollout = run.rollout;
      rollout.worker_id = "rollout-" + std::to_string(i);
      ASSIGN_OR_RETURN(std::shared_ptr<RolloutNode> node,
                       RolloutNode::Start(context, rollout, registry()));
      stops.push_back([node] { node->Stop(); });
    }
    for (int i = 0; i < run.launcher.reward_workers; ++i) {
      RewardNodeConfig reward = run.reward;
      reward.worker_id = "reward-" + std::to_string(i);
      ASSIGN_OR_RETURN(std::shared_ptr<RewardNode> node,
                       RewardNode::Start(context, reward, registry()));
      stops.push_back([node] { node->Stop(); });
    }
    return Status::Ok();
  }();
  ShutdownCause cause = ShutdownCause::kSignal;
  if (started.ok()) {
    cause = WaitForShutdown();
  } else {
    LOG(ERROR) << "cannot start the run: " << started;
  }
  for (auto it = stops.rbegin(); it != stops.rend(); ++it) (*it)();
  stops.clear();  // The nodes go, and their activity logs are complete.
  http->reset();
  (*actor)->Stop();
  if (cause == ShutdownCause::kFinished) PrintTimeBudget(run);
  return started.ok() && cause == ShutdownCause::kFinished && success ? 0 : 1;
}

}  // namespace lightrl
