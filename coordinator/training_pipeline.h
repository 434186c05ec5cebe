// The coordinator's training pipeline: prompts → rollout actors → reward workers → learner.
//
// Every prompt group moves through: to_generate → generating (a rollout actor holds it) →
// to_score → scoring (a reward worker holds it) → ready (scored, waiting for the learner) →
// training (in a TrainBatch) → trained; or it is dropped with a counted reason: stale (its
// oldest token is more than max_staleness versions behind the learner when it would be
// batched), zero_variance (every reward equal; dynamic sampling draws another prompt), invalid
// (a malformed rollout, or a group the learner rejects), too_long (prompt over
// max_prompt_tokens), generation_failed / reward_failed (max_attempts exhausted). The
// invariant created == trained + dropped + open holds at every moment and is exported.
//
// Faults: a rollout actor or reward worker that dies (its requests fail with Unavailable) or
// times out gives its groups back to the front of their queue. A batch whose learner dies or
// does not answer is in doubt (it may have been applied and checkpointed before the ack was
// lost): no batch goes out until the learner's version settles it — applied (counted as
// trained) or not (back to the front of the ready queue). A learner that comes back older than what
// it acknowledged (it resumed from a checkpoint) is sent the acknowledged batches since that
// checkpoint again, in order, before anything new: training is deterministic, so it reaches
// the same weights and no group is lost or trained twice. A coordinator that restarts resumes
// from the snapshot stored with the learner's newest complete checkpoint: its cursors and
// counters, and the prompts that were open then, which are generated again.
//
// Modes: sync generates exactly one batch with the current weights, trains it, and waits for
// the new version before generating again; async keeps generating while the learner trains,
// with the number of open groups bounded by the ready queue and the staleness window.
// Evaluation: the eval split is answered greedily before the first step (and training waits
// for it), every eval.every_steps versions, and after the last step.
//
// Thread-safety: none; lives on the coordinator actor's thread.
#ifndef LIGHTRL_COORDINATOR_TRAINING_PIPELINE_H_
#define LIGHTRL_COORDINATOR_TRAINING_PIPELINE_H_

#include <capnp/message.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/worker_registry.h"
#include "coordinator/pipeline_config.h"
#include "tasks/task.h"

namespace lightrl {

enum class DropReason {
  kStale,
  kZeroVariance,
  kInvalid,
  kTooLong,
  kGenerationFailed,
  kRewardFailed,
};
inline constexpr int kNumDropReasons = 6;
std::string_view DropReasonName(DropReason reason);

struct PipelineAccounting {
  int64_t created = 0;  // Train groups drawn (eval groups are not counted here).
  int64_t trained = 0;
  int64_t dropped[kNumDropReasons] = {};
  int64_t open = 0;         // Created and neither trained nor dropped.
  int64_t regenerated = 0;  // Open groups drawn again after a coordinator restart.
  int64_t steps = 0;        // Batches the learner acknowledged.
  int64_t dropped_total() const;
  bool balanced() const { return created == trained + dropped_total() + open; }
};

struct EvalResult {
  uint64_t requested_version = 0;
  uint64_t min_token_version = 0;  // Oldest weights that produced an answer token.
  int items = 0;
  int correct = 0;
  double accuracy() const { return items > 0 ? static_cast<double>(correct) / items : 0.0; }
};

class TrainingPipeline {
 public:
  // `tasks` are the prompt sources. Everything passed must outlive the pipeline.
  // Restores from the snapshot under config.checkpoint_dir when there is one.
  static StatusOr<std::unique_ptr<TrainingPipeline>> Create(
      EventLoop* loop, Messenger* messenger, WorkerRegistry* registry, const PipelineConfig& config,
      std::vector<std::unique_ptr<Task>> tasks, MetricsRegistry* metrics);
  ~TrainingPipeline();

  // Called once, when the last step is acknowledged and the final evaluation is done.
  void OnFinished(std::function<void()> callback) { on_finished_ = std::move(callback); }

  const PipelineAccounting& accounting() const { return accounting_; }
  const std::vector<EvalResult>& evals() const { return evals_; }
  // A JSON summary for `lightrl status`.
  std::string StatusJson() const;

 private:
  enum class Purpose { kTrain, kEval };
  struct ScoredSample;
  struct Group;
  struct Batch;

  TrainingPipeline(EventLoop* loop, Messenger* messenger, WorkerRegistry* registry,
                   const PipelineConfig& config, std::vector<std::unique_ptr<Task>> tasks,
                   MetricsRegistry* metrics);
  Status Restore();

  // Drawing and dispatch.
  bool MayDrawTrainGroup() const;
  Group* NewGroup(Purpose purpose, int task, int64_t index, Status* error);
  void StartEval();
  void Pump();
  void DispatchGeneration();
  void DispatchScoring();
  void DispatchTraining();

  // Replies.
  void OnRollout(uint64_t group_id, const std::string& worker,
                 StatusOr<std::unique_ptr<IncomingMessage>> reply);
  void OnRewards(uint64_t group_id, StatusOr<std::unique_ptr<IncomingMessage>> reply);
  void OnTrained(std::shared_ptr<Batch> batch, StatusOr<std::unique_ptr<IncomingMessage>> reply);
  // Counts an acknowledged batch (or one the learner's version shows it applied) and forgets
  // replays up to `durable_version`.
  void BatchApplied(const std::shared_ptr<Batch>& batch, uint64_t durable_version);
  // Settles what the learner's `version` tells: an unacknowledged batch it applied counts as
  // trained; after a restart, one it did not apply goes back to the ready queue, and the
  // acknowledged batches it lost are replayed.
  void ReconcileWithLearner(uint64_t version, bool restarted);
  void OnWeightsAnnounce(const IncomingMessage& message);
  void OnWorkerJoined(const WorkerInfo& worker);

  // Outcomes.
  void Drop(uint64_t group_id, DropReason reason, const std::string& why);
  void Retry(uint64_t group_id, std::deque<uint64_t>* queue, int* attempts, DropReason reason,
             const Status& status);
  void FinishEvalGroup(Group& group);
  void MaybeFinish();
  // The state to resume from, with `accounting` as its counters (open groups are the
  // current ones, plus restored prompts not yet drawn again).
  std::string SnapshotJson(const PipelineAccounting& accounting) const;
  void LogStep(const Batch& batch, double reward_mean);
  void PrintProgress();
  // Appends {"kind":"finished", "window_start", "window_end"} (Unix seconds) to the JSONL log.
  void LogFinished();
  void UpdateGauges();

  EventLoop* loop_;
  Messenger* messenger_;
  WorkerRegistry* registry_;
  PipelineConfig config_;
  std::vector<std::unique_ptr<Task>> tasks_;
  MetricsRegistry* metrics_;

  std::vector<int64_t> cursors_;  // Next train index per task.
  size_t next_task_ = 0;
  uint64_t next_group_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Group>> groups_;  // Every open group, train and eval.
  std::deque<uint64_t> to_generate_, eval_to_generate_, to_score_, ready_;
  std::deque<std::pair<int, int64_t>> restored_prompts_;  // (task, index) to draw first.
  std::shared_ptr<Batch> training_;                       // The batch the learner holds.
  std::shared_ptr<Batch> in_doubt_;                       // Sent, unanswered, maybe applied.
  std::deque<std::shared_ptr<Batch>> replay_;             // Acknowledged, not yet durable.
  std::deque<std::shared_ptr<Batch>> to_replay_;  // To send again to a learner that rolled back.
  uint64_t learner_version_ = 0;
  uint64_t acked_version_ = 0;
  std::unique_ptr<capnp::MallocMessageBuilder> announce_;  // Latest WeightsAnnounce.
  std::optional<EvalResult> eval_in_progress_;
  uint64_t last_eval_version_ = 0;
  bool initial_eval_done_ = false;
  bool final_eval_started_ = false;
  bool finished_ = false;
  std::vector<EvalResult> evals_;
  PipelineAccounting accounting_;
  int64_t generated_tokens_ = 0;
  double last_reward_mean_ = 0;
  Clock::time_point started_;
  // From the first generation request to the finish: the window of the run's time budget.
  std::optional<std::chrono::system_clock::time_point> first_dispatch_;
  EventLoop::TimerId progress_timer_ = 0;
  std::function<void()> on_finished_;
};

}  // namespace lightrl

#endif  // LIGHTRL_COORDINATOR_TRAINING_PIPELINE_H_
