// `lightrl learner|rollout|reward --config RUN.yaml [--id ID]`: the worker roles of a training
// run, one per process.
#include "cli/commands.h"
#include "cli/worker_process.h"
#include "learner/learner_node.h"
#include "reward/reward_node.h"
#include "rollout/rollout_node.h"

namespace lightrl {
namespace {

Status RequireTraining(const RunConfig& run) {
  if (run.training()) return Status::Ok();
  return InvalidArgumentError(run.path + ": not a training run (it has no `tasks`)");
}

// Wraps a started node: the returned function stops it and keeps it alive until then.
template <typename Node, typename StopFn>
std::function<void()> Stopper(std::unique_ptr<Node> node, StopFn stop) {
  std::shared_ptr<Node> shared(std::move(node));
  return [shared, stop] { stop(*shared); };
}

}  // namespace

int LearnerCommand(int argc, char** argv) {
  return RunWorkerProcess(argc, argv, "learner",
                          [](const WorkerContext& w) -> StatusOr<std::function<void()>> {
                            RETURN_IF_ERROR(RequireTraining(*w.run));
                            LearnerNodeConfig config = w.run->learner;
                            config.worker_id = w.worker_id;
                            config.metrics_port = w.metrics_port;
                            ASSIGN_OR_RETURN(std::unique_ptr<LearnerNode> node,
                                             LearnerNode::Start(*w.zmq, config, w.metrics));
                            node->OnShutdown(w.request_shutdown);
                            return Stopper(std::move(node), [](LearnerNode& n) {
                              Status stopped = n.Stop();
                              if (!stopped.ok())
                                LOG(ERROR) << "final checkpoint failed: " << stopped;
                            });
                          });
}

int RolloutCommand(int argc, char** argv) {
  return RunWorkerProcess(argc, argv, "rollout",
                          [](const WorkerContext& w) -> StatusOr<std::function<void()>> {
                            RETURN_IF_ERROR(RequireTraining(*w.run));
                            RolloutNodeConfig config = w.run->rollout;
                            config.worker_id = w.worker_id;
                            config.metrics_port = w.metrics_port;
                            ASSIGN_OR_RETURN(std::unique_ptr<RolloutNode> node,
                                             RolloutNode::Start(*w.zmq, config, w.metrics));
                            node->OnShutdown(w.request_shutdown);
                            return Stopper(std::move(node), [](RolloutNode& n) { n.Stop(); });
                          });
}

int RewardCommand(int argc, char** argv) {
  return RunWorkerProcess(argc, argv, "reward",
                          [](const WorkerContext& w) -> StatusOr<std::function<void()>> {
                            RETURN_IF_ERROR(RequireTraining(*w.run));
                            RewardNodeConfig config = w.run->reward;
                            config.worker_id = w.worker_id;
                            config.metrics_port = w.metrics_port;
                            ASSIGN_OR_RETURN(std::unique_ptr<RewardNode> node,
                                             RewardNode::Start(*w.zmq, config, w.metrics));
                            node->OnShutdown(w.request_shutdown);
                            return Stopper(std::move(node), [](RewardNode& n) { n.Stop(); });
                          });
}

}  // namespace lightrl
