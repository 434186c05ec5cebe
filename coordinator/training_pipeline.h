// The coordinator's training pipeline: prompts → rollout actors → reward workers → learner.
//
// A thin driver between the cluster and the pipeline's parts: it turns the registry's and the
// messenger's events (credits, joins, replies, failed requests, weight announces) into events
// of the state machine (coordinator/group_state_machine.h, where a group's life, the drop
// reasons, the fault handling and the modes are described), sends what the machine says is
// due to workers that have credit (coordinator/pipeline_codec.h), runs the evaluation rounds
// (coordinator/evaluation.h), and reports (coordinator/pipeline_report.h). A coordinator that
// restarts resumes from the snapshot stored with the learner's newest complete checkpoint
// (coordinator/coordinator_snapshot.h).
//
// Replies: a request that fails (the worker died and the registry failed its requests with
// Unavailable, the request timed out, or the worker answered Error) is a failure event; a reply
// the codec rejects is a malformed-reply event; neither ever stops the pipeline.
//
// Thread-safety: none; lives on the coordinator actor's thread.
#ifndef LIGHTRL_COORDINATOR_TRAINING_PIPELINE_H_
#define LIGHTRL_COORDINATOR_TRAINING_PIPELINE_H_

#include <capnp/message.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/worker_registry.h"
#include "coordinator/evaluation.h"
#include "coordinator/group_state_machine.h"
#include "coordinator/pipeline_config.h"
#include "coordinator/pipeline_report.h"
#include "tasks/task.h"

namespace lightrl {

class TrainingPipeline {
 public:
  // `tasks` are the prompt sources. Everything passed must outlive the pipeline.
  // Restores from the snapshot under config.checkpoint_dir when there is one.
  // Errors: InvalidArgument without tasks; ReadLatestSnapshot's DataLoss.
  static StatusOr<std::unique_ptr<TrainingPipeline>> Create(
      EventLoop* loop, Messenger* messenger, WorkerRegistry* registry, const PipelineConfig& config,
      std::vector<std::unique_ptr<Task>> tasks, MetricsRegistry* metrics);
  ~TrainingPipeline();

  // Called once, when the last step is acknowledged and the final evaluation is done.
  void OnFinished(std::function<void()> callback) { on_finished_ = std::move(callback); }

  const PipelineAccounting& accounting() const { return state_.accounting(); }
  const std::vector<EvalResult>& evals() const { return evaluation_.results(); }
  const GroupStateMachine& state() const { return state_; }
  // A JSON summary for `lightrl status`.
  std::string StatusJson() const;

 private:
  TrainingPipeline(EventLoop* loop, Messenger* messenger, WorkerRegistry* registry,
                   const PipelineConfig& config, std::vector<std::unique_ptr<Task>> tasks,
                   const std::optional<CoordinatorSnapshot>& snapshot, MetricsRegistry* metrics);

  // Sends whatever is due to workers with credit, training first.
  void Pump();
  void DispatchTraining();
  void DispatchScoring();
  void DispatchGeneration();

  // Replies to the requests for a group of which `expected` samples were asked, or whose
  // `num_samples` samples were to be scored.
  void OnRollout(uint64_t group_id, const std::string& worker, uint32_t expected,
                 StatusOr<std::unique_ptr<IncomingMessage>> reply);
  void OnRewards(uint64_t group_id, size_t num_samples,
                 StatusOr<std::unique_ptr<IncomingMessage>> reply);
  void OnTrained(uint64_t version, StatusOr<std::unique_ptr<IncomingMessage>> reply);
  void OnWeightsAnnounce(const IncomingMessage& message);
  void OnWorkerJoined(const WorkerInfo& worker);
  void RelayAnnounce(const std::string& worker);

  // Consequences of state machine events.
  void OnApplied(const AppliedBatch& applied);
  void OnEvalAnswer(const std::optional<EvalAnswer>& answer);
  // Training may start (or go on), the result is reported, and the run may finish.
  void EvalRoundEnded(const EvalResult& result);
  void StartEvalRound();
  void MaybeFinish();

  EventLoop* loop_;
  Messenger* messenger_;
  WorkerRegistry* registry_;
  PipelineConfig config_;
  std::vector<std::unique_ptr<Task>> tasks_;
  std::vector<std::string> task_names_;
  GenerationSpec train_generation_;
  GroupStateMachine state_;
  Evaluation evaluation_;
  PipelineReport report_;
  std::unique_ptr<capnp::MallocMessageBuilder> announce_;  // Latest WeightsAnnounce.
  bool finished_ = false;
  EventLoop::TimerId progress_timer_ = 0;
  std::function<void()> on_finished_;
};

}  // namespace lightrl

#endif  // LIGHTRL_COORDINATOR_TRAINING_PIPELINE_H_
