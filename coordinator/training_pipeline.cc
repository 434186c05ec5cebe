#include "coordinator/training_pipeline.h"

#include "core/logging.h"

namespace lightrl {
namespace {

GroupStateMachine RestoredState(const PipelineConfig& config,
                                std::span<const std::unique_ptr<Task>> tasks,
                                const std::optional<CoordinatorSnapshot>& snapshot) {
  GroupStateMachine state(config, tasks);
  if (snapshot) state.Restore(*snapshot);
  return state;
}

GenerationSpec TrainGeneration(const PipelineConfig& config) {
  const SamplingConfig& s = config.sampling;
  GenerationSpec spec;
  spec.samples_per_prompt = static_cast<uint32_t>(config.group_size);
  spec.temperature = static_cast<float>(s.temperature);
  spec.top_p = static_cast<float>(s.top_p);
  spec.top_k = static_cast<uint32_t>(s.top_k);
  spec.max_tokens = static_cast<uint32_t>(s.max_tokens);
  spec.stop_strings = s.stop_strings;
  spec.repetition_window = static_cast<uint32_t>(s.repetition_window);
  spec.repetition_probability = static_cast<float>(s.repetition_probability);
  return spec;
}

}  // namespace

StatusOr<std::unique_ptr<TrainingPipeline>> TrainingPipeline::Create(
    EventLoop* loop, Messenger* messenger, WorkerRegistry* registry, const PipelineConfig& config,
    std::vector<std::unique_ptr<Task>> tasks, MetricsRegistry* metrics) {
  if (tasks.empty()) return InvalidArgumentError("the training pipeline needs at least one task");
  ASSIGN_OR_RETURN(std::optional<StoredSnapshot> stored,
                   ReadLatestSnapshot(config.checkpoint_dir, tasks.size()));
  std::optional<CoordinatorSnapshot> snapshot;
  if (stored) {
    LOG(INFO) << "coordinator resumed from " << stored->path << ": step " << stored->snapshot.steps
              << ", " << stored->snapshot.open.size() << " open prompts to generate again";
    snapshot = std::move(stored->snapshot);
  }
  RETURN_IF_ERROR(Evaluation(config, tasks).Validate());
  return std::unique_ptr<TrainingPipeline>(
      new TrainingPipeline(loop, messenger, registry, config, std::move(tasks), snapshot, metrics));
}

TrainingPipeline::TrainingPipeline(EventLoop* loop, Messenger* messenger, WorkerRegistry* registry,
                                   const PipelineConfig& config,
                                   std::vector<std::unique_ptr<Task>> tasks,
                                   const std::optional<CoordinatorSnapshot>& snapshot,
                                   MetricsRegistry* metrics)
    : loop_(loop),
      messenger_(messenger),
      registry_(registry),
      config_(config),
      tasks_(std::move(tasks)),
      train_generation_(TrainGeneration(config)),
      state_(RestoredState(config, tasks_, snapshot)),
      evaluation_(config, tasks_),
      report_(config, metrics, state_.accounting(), loop->Now()) {
  for (const auto& task : tasks_) task_names_.push_back(task->name());
  if (evaluation_.initial_done()) state_.OpenTraining();
  registry_->OnCredits([this](const WorkerInfo&) { Pump(); });
  registry_->OnJoined([this](const WorkerInfo& w) { OnWorkerJoined(w); });
  messenger_->Handle(BodyKind::WEIGHTS_ANNOUNCE,
                     [this](const IncomingMessage& m) { OnWeightsAnnounce(m); });
  if (config_.progress_every_ms > 0) {
    progress_timer_ = loop_->AddPeriodicTimer(Millis(config_.progress_every_ms), [this] {
      report_.PrintProgress(state_, evaluation_.results(), loop_->Now());
    });
  }
}

TrainingPipeline::~TrainingPipeline() { loop_->CancelTimer(progress_timer_); }

std::string TrainingPipeline::StatusJson() const {
  return report_.StatusJson(state_, evaluation_.results(), *registry_, finished_);
}

void TrainingPipeline::Pump() {
  if (!finished_) {
    DispatchTraining();
    DispatchScoring();
    DispatchGeneration();
    report_.UpdateGauges(state_);
  }
  report_.CountOutcomes(state_.accounting());
}

void TrainingPipeline::DispatchGeneration() {
  while (const Group* next = state_.NextToGenerate()) {
    std::optional<std::string> worker = registry_->TakeWorker(proto::Role::ROLLOUT);
    if (!worker) return;
    const Group& group = state_.StartGeneration();
    CHECK_EQ(&group, next);
    const GenerationSpec& spec =
        group.purpose == Purpose::kEval ? evaluation_.generation() : train_generation_;
    report_.GenerationDispatched();
    const uint64_t id = group.id;
    const uint32_t expected = spec.samples_per_prompt;
    messenger_->Request(
        *worker, EncodeRolloutRequest(group, task_names_, spec, config_.seed),
        Millis(config_.generation_timeout_ms),
        [this, id, expected, worker = *worker](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
          OnRollout(id, worker, expected, std::move(reply));
        });
  }
}

void TrainingPipeline::OnRollout(uint64_t group_id, const std::string& worker, uint32_t expected,
                                 StatusOr<std::unique_ptr<IncomingMessage>> reply) {
  if (!reply.ok()) {
    LOG(WARNING) << "group " << group_id << " on " << worker << ": " << reply.status();
    OnEvalAnswer(state_.RolloutFailed(group_id, reply.status()));
  } else {
    std::vector<Sample> samples;
    Status read = ReadRollout(**reply, group_id, expected, &samples);
    report_.CountGeneratedTokens(samples);
    if (read.ok()) {
      state_.RolloutReceived(group_id, std::move(samples));
    } else {
      OnEvalAnswer(state_.RolloutMalformed(group_id, worker + ": " + std::string(read.message())));
    }
  }
  Pump();
}

void TrainingPipeline::DispatchScoring() {
  while (const Group* group = state_.NextToScore()) {
    const uint64_t id = group->id;
    StatusOr<OutgoingMessage> request = EncodeRewardRequest(*group, task_names_);
    if (!request.ok()) {
      OnEvalAnswer(state_.Unscorable(id, request.status().ToString()));
      continue;
    }
    std::optional<std::string> worker = registry_->TakeWorker(proto::Role::REWARD);
    if (!worker) return;
    const size_t num_samples = state_.StartScoring().samples.size();
    messenger_->Request(*worker, std::move(*request), Millis(config_.reward_timeout_ms),
                        [this, id, num_samples](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                          OnRewards(id, num_samples, std::move(reply));
                        });
  }
}

void TrainingPipeline::OnRewards(uint64_t group_id, size_t num_samples,
                                 StatusOr<std::unique_ptr<IncomingMessage>> reply) {
  if (!reply.ok()) {
    LOG(WARNING) << "scoring group " << group_id << ": " << reply.status();
    OnEvalAnswer(state_.ScoringFailed(group_id, reply.status()));
  } else {
    StatusOr<std::vector<SampleScore>> scores = ReadRewardResult(**reply, num_samples);
    OnEvalAnswer(scores.ok() ? state_.ScoresReceived(group_id, *scores)
                             : state_.ScoresMalformed(group_id, "malformed reward result: " +
                                                                    scores.status().ToString()));
  }
  Pump();
}

void TrainingPipeline::DispatchTraining() {
  if (registry_->CountRole(proto::Role::LEARNER) == 0 || !state_.BatchDue()) return;
  std::optional<std::string> learner = registry_->TakeWorker(proto::Role::LEARNER);
  if (!learner) return;
  const Batch& batch = state_.StartBatch();
  const uint64_t version = batch.resulting_version;
  messenger_->Request(*learner, EncodeTrainBatch(batch, task_names_),
                      Millis(config_.train_timeout_ms),
                      [this, version](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                        OnTrained(version, std::move(reply));
                      });
}

void TrainingPipeline::OnTrained(uint64_t version,
                                 StatusOr<std::unique_ptr<IncomingMessage>> reply) {
  StatusOr<uint64_t> durable = reply.ok() ? ReadTrainAck(**reply) : reply.status();
  if (!durable.ok()) {
    LOG(WARNING) << "train batch for version " << version << ": " << durable.status();
    state_.BatchFailed(version, durable.status());
  } else {
    OnApplied(state_.BatchAcked(version, *durable));
  }
  Pump();
}

void TrainingPipeline::OnApplied(const AppliedBatch& applied) {
  if (applied.new_step) {
    const int64_t step = state_.accounting().steps;
    report_.Step(state_.accounting(), applied, loop_->Now());
    if (evaluation_.DueAfterStep(step, config_.steps)) StartEvalRound();
  }
  MaybeFinish();
}

void TrainingPipeline::OnWeightsAnnounce(const IncomingMessage& message) {
  auto announce = message.envelope().getBody().getWeightsAnnounce();
  const uint64_t version = announce.getVersion();
  if (announce_ != nullptr && version != 0 &&
      version <= announce_->getRoot<proto::WeightsAnnounce>().getVersion() &&
      state_.learner_version() >= version) {
    return;  // An older or equal version (a learner replaying batches): rollouts have it.
  }
  announce_ = std::make_unique<capnp::MallocMessageBuilder>();
  announce_->setRoot(announce);
  if (std::optional<AppliedBatch> applied = state_.WeightsAnnounced(version)) OnApplied(*applied);
  registry_->SetPolicyInfo(state_.learner_version(), announce.getEndpoint().cStr());
  for (const WorkerInfo& w : registry_->Workers()) {
    if (w.role == proto::Role::ROLLOUT) RelayAnnounce(w.id);
  }
  if (!evaluation_.initial_done() && !evaluation_.in_progress()) StartEvalRound();
  MaybeFinish();  // The learner's version may have settled the last replay owed.
  Pump();
}

void TrainingPipeline::RelayAnnounce(const std::string& worker) {
  OutgoingMessage relay;
  relay.envelope().getBody().setWeightsAnnounce(
      announce_->getRoot<proto::WeightsAnnounce>().asReader());
  messenger_->Send(worker, std::move(relay)).status().IgnoreError();
}

void TrainingPipeline::OnWorkerJoined(const WorkerInfo& worker) {
  if (worker.role == proto::Role::ROLLOUT && announce_ != nullptr) RelayAnnounce(worker.id);
  if (worker.role == proto::Role::LEARNER) {
    if (std::optional<AppliedBatch> applied = state_.LearnerJoined(worker.policy_version)) {
      OnApplied(*applied);
    }
    MaybeFinish();  // Its version may have settled the last replay owed.
  }
  Pump();
}

void TrainingPipeline::OnEvalAnswer(const std::optional<EvalAnswer>& answer) {
  if (!answer) return;
  if (std::optional<EvalResult> result = evaluation_.Record(*answer)) EvalRoundEnded(*result);
}

void TrainingPipeline::EvalRoundEnded(const EvalResult& result) {
  state_.OpenTraining();
  report_.Evaluated(result);
  MaybeFinish();
}

void TrainingPipeline::StartEvalRound() {
  if (!evaluation_.enabled() || evaluation_.in_progress()) return;
  int items = 0;
  for (const PromptRef& prompt : evaluation_.RoundPrompts()) {
    Status added = state_.AddEvalGroup(prompt);
    if (!added.ok()) {
      LOG(WARNING) << "eval item " << prompt.index << " of task " << task_names_[prompt.task]
                   << ": " << added;
      continue;
    }
    ++items;
  }
  LOG(INFO) << "evaluating version " << state_.learner_version() << " on " << items
            << " held-out prompts";
  if (items == 0) LOG(ERROR) << "no eval prompt of this round could be read: it ends empty";
  std::optional<EvalResult> empty = evaluation_.BeginRound(state_.learner_version(), items);
  if (empty) EvalRoundEnded(*empty);
}

void TrainingPipeline::MaybeFinish() {
  if (finished_ || !state_.TrainingComplete()) return;
  if (evaluation_.ClaimFinalRound()) {
    StartEvalRound();  // Unless a round is in progress: it is then the final one.
    return;
  }
  if (evaluation_.in_progress()) return;
  finished_ = true;
  report_.Finished(state_.accounting().steps);
  if (config_.progress_every_ms > 0) {
    report_.PrintProgress(state_, evaluation_.results(), loop_->Now());
  }
  LOG(INFO) << "run finished: " << state_.accounting().steps << " steps";
  if (on_finished_) on_finished_();
}

}  // namespace lightrl
