#include "coordinator/training_pipeline.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "actors/codec.h"
#include "actors/sample_codec.h"
#include "core/checkpoint_dir.h"
#include "core/logging.h"
#include "core/tokenizer.h"

namespace lightrl {

std::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kStale:
      return "stale";
    case DropReason::kZeroVariance:
      return "zero_variance";
    case DropReason::kInvalid:
      return "invalid";
    case DropReason::kTooLong:
      return "too_long";
    case DropReason::kGenerationFailed:
      return "generation_failed";
    case DropReason::kRewardFailed:
      return "reward_failed";
  }
  return "unknown";
}

int64_t PipelineAccounting::dropped_total() const {
  int64_t total = 0;
  for (int64_t d : dropped) total += d;
  return total;
}

struct TrainingPipeline::ScoredSample {
  Sample sample;
  float reward = 0;
  proto::Verdict verdict = proto::Verdict::UNKNOWN;
};

struct TrainingPipeline::Group {
  uint64_t id = 0;
  Purpose purpose = Purpose::kTrain;
  int task = 0;
  int64_t index = 0;
  std::vector<TokenId> prompt;
  std::string reference;
  uint64_t min_version = 0;
  int generation_attempts = 0;
  int reward_attempts = 0;
  std::vector<ScoredSample> samples;

  uint32_t OldestVersion() const {
    uint32_t oldest = UINT32_MAX;
    for (const ScoredSample& s : samples) {
      for (uint32_t v : s.sample.versions) oldest = std::min(oldest, v);
    }
    return oldest;
  }
};

struct TrainingPipeline::Batch {
  uint64_t resulting_version = 0;  // The learner's version once it has applied the batch.
  std::vector<std::unique_ptr<Group>> groups;
  std::string snapshot;
  bool replay = false;
};

namespace {

// Messenger errors mean: the worker died or never answered (retry elsewhere), or it refused
// the work outright (Aborted: Error(failed)).
bool WorthRetrying(const Status& status) { return status.code() != StatusCode::kAborted; }

}  // namespace

StatusOr<std::unique_ptr<TrainingPipeline>> TrainingPipeline::Create(
    EventLoop* loop, Messenger* messenger, WorkerRegistry* registry, const PipelineConfig& config,
    std::vector<std::unique_ptr<Task>> tasks, MetricsRegistry* metrics) {
  if (tasks.empty()) return InvalidArgumentError("the training pipeline needs at least one task");
  std::unique_ptr<TrainingPipeline> pipeline(
      new TrainingPipeline(loop, messenger, registry, config, std::move(tasks), metrics));
  RETURN_IF_ERROR(pipeline->Restore());
  return pipeline;
}

TrainingPipeline::TrainingPipeline(EventLoop* loop, Messenger* messenger, WorkerRegistry* registry,
                                   const PipelineConfig& config,
                                   std::vector<std::unique_ptr<Task>> tasks,
                                   MetricsRegistry* metrics)
    : loop_(loop),
      messenger_(messenger),
      registry_(registry),
      config_(config),
      tasks_(std::move(tasks)),
      metrics_(metrics),
      cursors_(tasks_.size(), 0),
      started_(Clock::now()) {
  initial_eval_done_ = config_.eval.items == 0;
  registry_->OnCredits([this](const WorkerInfo&) { Pump(); });
  registry_->OnJoined([this](const WorkerInfo& w) { OnWorkerJoined(w); });
  messenger_->Handle(BodyKind::WEIGHTS_ANNOUNCE,
                     [this](const IncomingMessage& m) { OnWeightsAnnounce(m); });
  if (config_.progress_every_ms > 0) {
    progress_timer_ =
        loop_->AddPeriodicTimer(Millis(config_.progress_every_ms), [this] { PrintProgress(); });
  }
}

TrainingPipeline::~TrainingPipeline() { loop_->CancelTimer(progress_timer_); }

Status TrainingPipeline::Restore() {
  if (config_.checkpoint_dir.empty()) return Status::Ok();
  std::optional<std::string> latest = LatestCheckpoint(config_.checkpoint_dir);
  if (!latest) return Status::Ok();
  std::string path = (std::filesystem::path(*latest) / kCoordinatorStateFile).string();
  std::ifstream in(path);
  if (!in) return Status::Ok();  // A checkpoint from before any batch (e.g. after SFT only).
  nlohmann::json state = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& what) { return DataLossError(path + ": " + what); };
  if (state.is_discarded() || !state.is_object()) return bad("not a JSON object");
  try {
    next_group_id_ = state.at("next_group_id").get<uint64_t>();
    std::vector<int64_t> cursors = state.at("cursors").get<std::vector<int64_t>>();
    if (cursors.size() != cursors_.size()) {
      return bad("has " + std::to_string(cursors.size()) + " task cursors, the run has " +
                 std::to_string(cursors_.size()) + " tasks");
    }
    cursors_ = cursors;
    const auto& a = state.at("accounting");
    accounting_.created = a.at("created").get<int64_t>();
    accounting_.trained = a.at("trained").get<int64_t>();
    accounting_.steps = a.at("steps").get<int64_t>();
    std::vector<int64_t> dropped = a.at("dropped").get<std::vector<int64_t>>();
    if (dropped.size() != kNumDropReasons) return bad("wrong number of drop reasons");
    std::copy(dropped.begin(), dropped.end(), accounting_.dropped);
    for (const auto& open : state.at("open")) {
      int task = open.at(0).get<int>();
      if (task < 0 || task >= static_cast<int>(tasks_.size())) return bad("unknown task index");
      restored_prompts_.emplace_back(task, open.at(1).get<int64_t>());
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  accounting_.open = static_cast<int64_t>(restored_prompts_.size());
  if (!accounting_.balanced()) return bad("accounting does not balance");
  LOG(INFO) << "coordinator resumed from " << path << ": step " << accounting_.steps << ", "
            << restored_prompts_.size() << " open prompts to generate again";
  return Status::Ok();
}

std::string TrainingPipeline::SnapshotJson(const PipelineAccounting& accounting) const {
  nlohmann::json open = nlohmann::json::array();
  for (const auto& [id, group] : groups_) {
    if (group->purpose == Purpose::kTrain) open.push_back({group->task, group->index});
  }
  for (const auto& [task, index] : restored_prompts_) open.push_back({task, index});
  std::vector<int64_t> dropped(accounting.dropped, accounting.dropped + kNumDropReasons);
  nlohmann::json state = {{"next_group_id", next_group_id_},
                          {"cursors", cursors_},
                          {"accounting",
                           {{"created", accounting.created},
                            {"trained", accounting.trained},
                            {"steps", accounting.steps},
                            {"dropped", dropped}}},
                          {"open", open}};
  return state.dump();
}

bool TrainingPipeline::MayDrawTrainGroup() const {
  if (!initial_eval_done_ || learner_version_ == 0 || !to_replay_.empty()) return false;
  const int64_t batch = config_.groups_per_batch;
  int64_t still_needed = (config_.steps - accounting_.steps) * batch;
  if (accounting_.open >= still_needed) return false;
  if (config_.mode == PipelineMode::kSync) {
    return training_ == nullptr && accounting_.open < batch;
  }
  int64_t window = std::min<int64_t>(config_.ready_capacity, (config_.max_staleness + 1) * batch);
  return accounting_.open < window && static_cast<int64_t>(ready_.size()) < config_.ready_capacity;
}

TrainingPipeline::Group* TrainingPipeline::NewGroup(Purpose purpose, int task, int64_t index,
                                                    Status* error) {
  StatusOr<TaskItem> item =
      tasks_[task]->Item(purpose == Purpose::kTrain ? Split::kTrain : Split::kEval, index);
  if (!item.ok()) {
    *error = item.status();
    return nullptr;
  }
  auto group = std::make_unique<Group>();
  group->id = next_group_id_++;
  group->purpose = purpose;
  group->task = task;
  group->index = index;
  group->prompt = ByteTokenizer::EncodePrompt(item->prompt);
  group->reference = std::move(item->reference_json);
  // Sync mode and evaluations need the current weights; async generation may start with
  // weights up to max_staleness versions old (the group is then still fresh enough to train).
  bool exact = purpose == Purpose::kEval || config_.mode == PipelineMode::kSync;
  uint64_t slack = exact ? 0 : static_cast<uint64_t>(config_.max_staleness);
  group->min_version = learner_version_ > slack ? learner_version_ - slack : 1;
  Group* raw = group.get();
  groups_[group->id] = std::move(group);
  return raw;
}

void TrainingPipeline::StartEval() {
  if (config_.eval.items == 0 || eval_in_progress_) return;
  eval_in_progress_ = EvalResult{learner_version_, UINT64_MAX, 0, 0};
  last_eval_version_ = learner_version_;
  const int per_task = std::max<int>(1, config_.eval.items / static_cast<int>(tasks_.size()));
  for (int task = 0; task < static_cast<int>(tasks_.size()); ++task) {
    int64_t size = tasks_[task]->Size(Split::kEval);
    for (int64_t i = 0; i < per_task && (size < 0 || i < size); ++i) {
      Status error;
      Group* group = NewGroup(Purpose::kEval, task, i, &error);
      if (group == nullptr) {
        LOG(WARNING) << "eval item " << i << " of task " << tasks_[task]->name() << ": " << error;
        continue;
      }
      eval_to_generate_.push_back(group->id);
      ++eval_in_progress_->items;
    }
  }
  LOG(INFO) << "evaluating version " << learner_version_ << " on " << eval_in_progress_->items
            << " held-out prompts";
}

void TrainingPipeline::Pump() {
  if (finished_) return;
  DispatchTraining();
  DispatchScoring();
  DispatchGeneration();
  UpdateGauges();
}

void TrainingPipeline::DispatchGeneration() {
  while (true) {
    std::deque<uint64_t>* queue = !eval_to_generate_.empty() ? &eval_to_generate_ : &to_generate_;
    if (queue->empty()) {
      if (!MayDrawTrainGroup()) return;
      int task;
      int64_t index;
      bool regenerated = !restored_prompts_.empty();
      if (regenerated) {
        std::tie(task, index) = restored_prompts_.front();
        restored_prompts_.pop_front();
      } else {
        task = static_cast<int>(next_task_++ % tasks_.size());
        // A finite dataset is read again from the start once its train split is used up.
        int64_t size = tasks_[task]->Size(Split::kTrain);
        index = size > 0 ? cursors_[task]++ % size : cursors_[task]++;
      }
      Status error;
      Group* group = NewGroup(Purpose::kTrain, task, index, &error);
      if (regenerated) {
        ++accounting_.regenerated;
      } else {
        ++accounting_.created;
        ++accounting_.open;
      }
      if (group == nullptr) {
        // Created and dropped at once: the item cannot be read. Try again at the next pump
        // rather than spinning through the task here.
        LOG(WARNING) << "task " << tasks_[task]->name() << " item " << index << ": " << error;
        --accounting_.open;
        ++accounting_.dropped[static_cast<int>(DropReason::kInvalid)];
        return;
      }
      if (static_cast<int>(group->prompt.size()) > config_.max_prompt_tokens) {
        Drop(group->id, DropReason::kTooLong,
             std::to_string(group->prompt.size()) + " prompt tokens");
        continue;
      }
      to_generate_.push_back(group->id);
      continue;
    }
    std::optional<std::string> worker = registry_->TakeWorker(proto::Role::ROLLOUT);
    if (!worker) return;
    uint64_t id = queue->front();
    queue->pop_front();
    Group& group = *groups_.at(id);
    bool eval = group.purpose == Purpose::kEval;
    OutgoingMessage message(group.prompt.size() * 4 + 512);
    auto request = message.envelope().getBody().initRolloutRequest();
    request.setGroupId(id);
    WriteTokens(group.prompt, request.initPromptTokens(static_cast<uint>(group.prompt.size())));
    request.setSamplesPerPrompt(eval ? 1 : static_cast<uint32_t>(config_.group_size));
    auto sampling = request.initSampling();
    const SamplingConfig& s = config_.sampling;
    sampling.setTemperature(eval ? 0.0f : static_cast<float>(s.temperature));
    sampling.setTopP(eval ? 1.0f : static_cast<float>(s.top_p));
    sampling.setTopK(eval ? 0 : static_cast<uint32_t>(s.top_k));
    sampling.setMaxTokens(static_cast<uint32_t>(eval ? config_.eval.max_tokens : s.max_tokens));
    sampling.setSeed(config_.seed * 1000003ULL + id * 7919ULL);
    auto stops = sampling.initStopStrings(static_cast<uint>(s.stop_strings.size()));
    for (size_t i = 0; i < s.stop_strings.size(); ++i)
      stops.set(static_cast<uint>(i), s.stop_strings[i]);
    sampling.setRepetitionWindow(static_cast<uint32_t>(s.repetition_window));
    sampling.setRepetitionProbability(static_cast<float>(s.repetition_probability));
    auto task = request.initTask();
    task.setTaskName(tasks_[group.task]->name());
    task.setItemIndex(static_cast<uint64_t>(group.index));
    task.setReference(group.reference);
    request.setMinPolicyVersion(group.min_version);
    std::string worker_id = *worker;
    if (!first_dispatch_) first_dispatch_ = std::chrono::system_clock::now();
    messenger_->Request(worker_id, std::move(message), Millis(config_.generation_timeout_ms),
                        [this, id, worker_id](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                          OnRollout(id, worker_id, std::move(reply));
                        });
  }
}

void TrainingPipeline::OnRollout(uint64_t group_id, const std::string& worker,
                                 StatusOr<std::unique_ptr<IncomingMessage>> reply) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return;
  Group& group = *it->second;
  if (!reply.ok()) {
    LOG(WARNING) << "group " << group_id << " on " << worker << ": " << reply.status();
    if (WorthRetrying(reply.status())) {
      std::deque<uint64_t>* queue =
          group.purpose == Purpose::kEval ? &eval_to_generate_ : &to_generate_;
      Retry(group_id, queue, &group.generation_attempts, DropReason::kGenerationFailed,
            reply.status());
    } else {
      Drop(group_id, DropReason::kInvalid, reply.status().ToString());
    }
    Pump();
    return;
  }
  auto body = (*reply)->envelope().getBody();
  const uint32_t wanted = group.purpose == Purpose::kEval ? 1 : config_.group_size;
  std::string problem;
  if (body.which() != BodyKind::ROLLOUT || body.getRollout().getGroupId() != group_id) {
    problem = "the answer is not the rollout of this group";
  } else if (body.getRollout().getSamples().size() != wanted) {
    problem = "expected " + std::to_string(wanted) + " samples, got " +
              std::to_string(body.getRollout().getSamples().size());
  }
  if (problem.empty()) {
    for (auto s : body.getRollout().getSamples()) {
      StatusOr<Sample> sample = ReadSample(s);
      if (!sample.ok()) {
        problem = std::string(sample.status().message());
        break;
      }
      generated_tokens_ += static_cast<int64_t>(sample->tokens.size());
      group.samples.push_back({std::move(*sample)});
    }
  }
  if (!problem.empty()) {
    Drop(group_id, DropReason::kInvalid, worker + ": " + problem);
  } else {
    to_score_.push_back(group_id);
  }
  Pump();
}

void TrainingPipeline::DispatchScoring() {
  while (!to_score_.empty()) {
    uint64_t id = to_score_.front();
    Group& group = *groups_.at(id);
    OutgoingMessage message;
    auto request = message.envelope().getBody().initRewardRequest();
    request.setGroupId(id);
    auto task = request.initTask();
    task.setTaskName(tasks_[group.task]->name());
    task.setItemIndex(static_cast<uint64_t>(group.index));
    task.setReference(group.reference);
    auto items = request.initItems(static_cast<uint>(group.samples.size()));
    std::string problem;
    for (size_t i = 0; i < group.samples.size(); ++i) {
      const Sample& sample = group.samples[i].sample;
      StatusOr<std::string> text = ByteTokenizer::DecodeCompletion(sample.tokens);
      if (!text.ok()) {
        problem = text.status().ToString();
        break;
      }
      auto item = items[static_cast<uint>(i)];
      item.setSampleIndex(static_cast<uint32_t>(i));
      item.setCompletion(*text);
      item.setTokenCount(static_cast<uint32_t>(sample.tokens.size()));
    }
    if (!problem.empty()) {
      to_score_.pop_front();
      Drop(id, DropReason::kInvalid, problem);
      continue;
    }
    std::optional<std::string> worker = registry_->TakeWorker(proto::Role::REWARD);
    if (!worker) return;
    to_score_.pop_front();
    messenger_->Request(*worker, std::move(message), Millis(config_.reward_timeout_ms),
                        [this, id](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                          OnRewards(id, std::move(reply));
                        });
  }
}

void TrainingPipeline::OnRewards(uint64_t group_id,
                                 StatusOr<std::unique_ptr<IncomingMessage>> reply) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return;
  Group& group = *it->second;
  if (!reply.ok()) {
    LOG(WARNING) << "scoring group " << group_id << ": " << reply.status();
    if (WorthRetrying(reply.status())) {
      Retry(group_id, &to_score_, &group.reward_attempts, DropReason::kRewardFailed,
            reply.status());
    } else {
      Drop(group_id, DropReason::kRewardFailed, reply.status().ToString());
    }
    Pump();
    return;
  }
  auto body = (*reply)->envelope().getBody();
  bool valid = body.which() == BodyKind::REWARD_RESULT &&
               body.getRewardResult().getScores().size() == group.samples.size();
  std::vector<bool> seen(group.samples.size(), false);
  if (valid) {
    for (auto score : body.getRewardResult().getScores()) {
      uint32_t i = score.getSampleIndex();
      if (i >= group.samples.size() || seen[i] || !std::isfinite(score.getScore())) {
        valid = false;
        break;
      }
      seen[i] = true;
      group.samples[i].reward = score.getScore();
      group.samples[i].verdict = score.getVerdict();
    }
  }
  if (!valid) {
    Drop(group_id, DropReason::kRewardFailed, "malformed reward result");
  } else if (group.purpose == Purpose::kEval) {
    FinishEvalGroup(group);
  } else {
    bool all_equal = std::all_of(
        group.samples.begin(), group.samples.end(),
        [&](const ScoredSample& s) { return s.reward == group.samples.front().reward; });
    if (config_.dynamic_sampling && all_equal) {
      Drop(group_id, DropReason::kZeroVariance,
           "every reward is " + std::to_string(group.samples.front().reward));
    } else {
      ready_.push_back(group_id);
    }
  }
  Pump();
}

void TrainingPipeline::FinishEvalGroup(Group& group) {
  if (eval_in_progress_) {
    const ScoredSample& answer = group.samples.front();
    eval_in_progress_->correct += answer.verdict == proto::Verdict::CORRECT;
    for (uint32_t v : answer.sample.versions) {
      eval_in_progress_->min_token_version =
          std::min<uint64_t>(eval_in_progress_->min_token_version, v);
    }
  }
  groups_.erase(group.id);
  bool done = std::none_of(groups_.begin(), groups_.end(),
                           [](const auto& g) { return g.second->purpose == Purpose::kEval; });
  if (!done || !eval_in_progress_) return;
  EvalResult result = *eval_in_progress_;
  eval_in_progress_.reset();
  if (result.min_token_version == UINT64_MAX) result.min_token_version = 0;
  evals_.push_back(result);
  initial_eval_done_ = true;
  metrics_->GetGauge("lightrl_eval_accuracy", "Held-out accuracy of the last evaluation.")
      ->Set(result.accuracy());
  std::printf("eval: version %llu, held-out accuracy %.3f (%d/%d)\n",
              static_cast<unsigned long long>(result.requested_version), result.accuracy(),
              result.correct, result.items);
  std::fflush(stdout);
  if (!config_.metrics_jsonl.empty()) {
    std::ofstream out(config_.metrics_jsonl, std::ios::app);
    out << nlohmann::json({{"kind", "eval"},
                           {"version", result.requested_version},
                           {"min_token_version", result.min_token_version},
                           {"items", result.items},
                           {"correct", result.correct},
                           {"accuracy", result.accuracy()}})
               .dump()
        << "\n";
  }
  MaybeFinish();
}

void TrainingPipeline::DispatchTraining() {
  if (training_ != nullptr || in_doubt_ != nullptr) return;
  std::shared_ptr<Batch> batch;
  if (!to_replay_.empty()) {
    if (registry_->CountRole(proto::Role::LEARNER) == 0) return;
    batch = to_replay_.front();
  } else {
    if (!initial_eval_done_ || accounting_.steps >= config_.steps) return;
    if (static_cast<int>(ready_.size()) < config_.groups_per_batch) return;
    if (registry_->CountRole(proto::Role::LEARNER) == 0) return;
    batch = std::make_shared<Batch>();
    std::vector<uint64_t> taken;
    while (static_cast<int>(taken.size()) < config_.groups_per_batch && !ready_.empty()) {
      uint64_t id = ready_.front();
      ready_.pop_front();
      Group& group = *groups_.at(id);
      if (static_cast<uint64_t>(group.OldestVersion()) + config_.max_staleness < learner_version_) {
        std::string why = "oldest token from version " + std::to_string(group.OldestVersion()) +
                          ", learner at " + std::to_string(learner_version_);
        if (config_.stale_policy == StalePolicy::kRegenerate) {
          group.samples.clear();
          group.min_version = learner_version_ > static_cast<uint64_t>(config_.max_staleness)
                                  ? learner_version_ - config_.max_staleness
                                  : 1;
          to_generate_.push_back(id);
        } else {
          Drop(id, DropReason::kStale, why);
        }
        continue;
      }
      taken.push_back(id);
    }
    if (static_cast<int>(taken.size()) < config_.groups_per_batch) {
      ready_.insert(ready_.begin(), taken.begin(), taken.end());
      return;
    }
    for (uint64_t id : taken) {
      batch->groups.push_back(std::move(groups_.at(id)));
      groups_.erase(id);
    }
    batch->resulting_version = learner_version_ + 1;
    // The snapshot describes the state once this batch is trained: the learner stores it with
    // the checkpoint of the version the batch produces.
    PipelineAccounting after = accounting_;
    after.trained += config_.groups_per_batch;
    after.open -= config_.groups_per_batch;
    ++after.steps;
    batch->snapshot = SnapshotJson(after);
  }
  std::optional<std::string> learner = registry_->TakeWorker(proto::Role::LEARNER);
  if (!learner) {
    if (!batch->replay) {
      for (auto it = batch->groups.rbegin(); it != batch->groups.rend(); ++it) {
        ready_.push_front((*it)->id);
        groups_[(*it)->id] = std::move(*it);
      }
    }
    return;
  }
  if (batch->replay) to_replay_.pop_front();
  size_t tokens = 0;
  for (const auto& g : batch->groups) {
    for (const ScoredSample& s : g->samples) tokens += s.sample.tokens.size();
  }
  OutgoingMessage message(tokens * 12 + 4096);
  auto train = message.envelope().getBody().initTrainBatch();
  train.setBatchId(batch->resulting_version);
  train.setCoordinatorState(batch->snapshot);
  auto groups = train.initGroups(static_cast<uint>(batch->groups.size()));
  for (size_t g = 0; g < batch->groups.size(); ++g) {
    const Group& group = *batch->groups[g];
    auto out = groups[static_cast<uint>(g)];
    out.setGroupId(group.id);
    WriteTokens(group.prompt, out.initPromptTokens(static_cast<uint>(group.prompt.size())));
    auto task = out.initTask();
    task.setTaskName(tasks_[group.task]->name());
    task.setItemIndex(static_cast<uint64_t>(group.index));
    auto samples = out.initSamples(static_cast<uint>(group.samples.size()));
    for (size_t i = 0; i < group.samples.size(); ++i) {
      const ScoredSample& s = group.samples[i];
      auto scored = samples[static_cast<uint>(i)];
      WriteSample(s.sample, scored.initSample());
      scored.setReward(s.reward);
      scored.setVerdict(s.verdict);
    }
  }
  training_ = batch;
  messenger_->Request(*learner, std::move(message), Millis(config_.train_timeout_ms),
                      [this, batch](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                        OnTrained(batch, std::move(reply));
                      });
}

void TrainingPipeline::OnTrained(std::shared_ptr<Batch> batch,
                                 StatusOr<std::unique_ptr<IncomingMessage>> reply) {
  if (training_ == batch) training_ = nullptr;
  if (reply.ok() && (*reply)->envelope().getBody().which() != BodyKind::ACK) {
    reply = InternalError("the learner answered a batch with something other than Ack");
  }
  if (!reply.ok()) {
    LOG(WARNING) << "train batch for version " << batch->resulting_version << ": "
                 << reply.status();
    if (!WorthRetrying(reply.status()) && !batch->replay) {
      for (auto& group : batch->groups) {
        uint64_t id = group->id;
        groups_[id] = std::move(group);
        Drop(id, DropReason::kInvalid,
             "the learner rejected the batch: " + reply.status().ToString());
      }
    } else {
      // The learner may or may not have applied the batch (it can die after its checkpoint and
      // before its ack). Nothing more goes to the learner until its version tells.
      in_doubt_ = batch;
    }
    Pump();
    return;
  }
  BatchApplied(batch, (*reply)->envelope().getBody().getAck().getDurableVersion());
  Pump();
}

void TrainingPipeline::BatchApplied(const std::shared_ptr<Batch>& batch, uint64_t durable_version) {
  acked_version_ = std::max(acked_version_, batch->resulting_version);
  learner_version_ = std::max(learner_version_, batch->resulting_version);
  if (!batch->replay) {
    double reward_sum = 0;
    int samples = 0;
    for (const auto& g : batch->groups) {
      for (const ScoredSample& s : g->samples) {
        reward_sum += s.reward;
        ++samples;
      }
    }
    batch->replay = true;  // From now on it can only be sent again as a replay.
    accounting_.trained += static_cast<int64_t>(batch->groups.size());
    accounting_.open -= static_cast<int64_t>(batch->groups.size());
    ++accounting_.steps;
    last_reward_mean_ = samples > 0 ? reward_sum / samples : 0;
    replay_.push_back(batch);
    metrics_->GetCounter("lightrl_groups_total", "Groups by outcome.", {{"outcome", "trained"}})
        ->Increment(static_cast<double>(batch->groups.size()));
    LogStep(*batch, last_reward_mean_);
    if (config_.eval.every_steps > 0 && accounting_.steps % config_.eval.every_steps == 0 &&
        accounting_.steps < config_.steps) {
      StartEval();
    }
  }
  while (!replay_.empty() && replay_.front()->resulting_version <= durable_version) {
    replay_.pop_front();
  }
  MaybeFinish();
}

void TrainingPipeline::ReconcileWithLearner(uint64_t version, bool restarted) {
  // Replays the learner already holds are not sent again.
  while (!to_replay_.empty() && to_replay_.front()->resulting_version <= version) {
    to_replay_.pop_front();
  }
  if (in_doubt_ != nullptr) {
    std::shared_ptr<Batch> batch = std::move(in_doubt_);
    if (version >= batch->resulting_version) {
      LOG(INFO) << "the learner applied the unacknowledged batch for version "
                << batch->resulting_version;
      BatchApplied(batch, restarted ? version : 0);
    } else if (!restarted) {
      in_doubt_ = std::move(batch);  // Still unknown: the learner may be applying it now.
    } else if (!batch->replay) {
      for (auto it = batch->groups.rbegin(); it != batch->groups.rend(); ++it) {
        ready_.push_front((*it)->id);
        groups_[(*it)->id] = std::move(*it);
      }
    }
  }
  if (!restarted || version >= acked_version_) return;
  // The learner resumed from a checkpoint older than what it acknowledged: send it the
  // acknowledged batches since, in order.
  to_replay_.clear();
  for (const auto& batch : replay_) {
    if (batch->resulting_version > version) to_replay_.push_back(batch);
  }
  LOG(WARNING) << "learner came back at version " << version << " after " << acked_version_
               << " was acknowledged: replaying " << to_replay_.size() << " batch(es)";
  if (to_replay_.empty() || to_replay_.front()->resulting_version != version + 1) {
    LOG(ERROR) << "the batches since version " << version
               << " are no longer held; training continues from the learner's version";
    to_replay_.clear();
    acked_version_ = version;
  }
}

void TrainingPipeline::OnWeightsAnnounce(const IncomingMessage& message) {
  auto announce = message.envelope().getBody().getWeightsAnnounce();
  if (announce_ != nullptr &&
      announce.getVersion() <= announce_->getRoot<proto::WeightsAnnounce>().getVersion() &&
      announce.getVersion() != 0) {
    // An older or equal version (a learner replaying batches): rollouts already have it.
    if (learner_version_ >= announce.getVersion()) return;
  }
  announce_ = std::make_unique<capnp::MallocMessageBuilder>();
  announce_->setRoot(announce);
  // The learner acks a batch before it has published that version: an announce may trail
  // the acknowledged version and must not lower it. Version 0 is a learner that started
  // afresh (one resumed from a checkpoint sets its version when it registers).
  learner_version_ =
      announce.getVersion() == 0 ? 0 : std::max(learner_version_, announce.getVersion());
  ReconcileWithLearner(learner_version_, /*restarted=*/false);
  registry_->SetPolicyInfo(learner_version_, announce.getEndpoint().cStr());
  for (const WorkerInfo& w : registry_->Workers()) {
    if (w.role != proto::Role::ROLLOUT) continue;
    OutgoingMessage relay;
    relay.envelope().getBody().setWeightsAnnounce(announce);
    messenger_->Send(w.id, std::move(relay)).status().IgnoreError();
  }
  if (!initial_eval_done_ && !eval_in_progress_) StartEval();
  Pump();
}

void TrainingPipeline::OnWorkerJoined(const WorkerInfo& worker) {
  if (worker.role == proto::Role::ROLLOUT && announce_ != nullptr) {
    OutgoingMessage relay;
    relay.envelope().getBody().setWeightsAnnounce(
        announce_->getRoot<proto::WeightsAnnounce>().asReader());
    messenger_->Send(worker.id, std::move(relay)).status().IgnoreError();
  }
  if (worker.role == proto::Role::LEARNER) {
    ReconcileWithLearner(worker.policy_version, /*restarted=*/true);
    if (worker.policy_version != 0) learner_version_ = worker.policy_version;
  }
  Pump();
}

void TrainingPipeline::Drop(uint64_t group_id, DropReason reason, const std::string& why) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return;
  if (it->second->purpose == Purpose::kEval) {
    LOG(WARNING) << "eval group " << group_id << " failed (" << DropReasonName(reason)
                 << "): " << why;
    it->second->samples.assign(1, ScoredSample());  // Counts as a wrong answer.
    FinishEvalGroup(*it->second);
    return;
  }
  LOG(INFO) << "dropping group " << group_id << " (" << DropReasonName(reason) << "): " << why;
  groups_.erase(it);
  to_generate_.erase(std::remove(to_generate_.begin(), to_generate_.end(), group_id),
                     to_generate_.end());
  to_score_.erase(std::remove(to_score_.begin(), to_score_.end(), group_id), to_score_.end());
  ready_.erase(std::remove(ready_.begin(), ready_.end(), group_id), ready_.end());
  --accounting_.open;
  ++accounting_.dropped[static_cast<int>(reason)];
  metrics_
      ->GetCounter("lightrl_groups_total", "Groups by outcome.",
                   {{"outcome", "dropped_" + std::string(DropReasonName(reason))}})
      ->Increment();
}

void TrainingPipeline::Retry(uint64_t group_id, std::deque<uint64_t>* queue, int* attempts,
                             DropReason reason, const Status& status) {
  if (++*attempts >= config_.max_attempts) {
    Drop(group_id, reason,
         std::to_string(*attempts) + " attempts failed; last: " + status.ToString());
    return;
  }
  // Generating again starts from nothing; scoring again keeps the samples.
  if (queue != &to_score_) groups_.at(group_id)->samples.clear();
  queue->push_front(group_id);
}

void TrainingPipeline::MaybeFinish() {
  if (finished_ || accounting_.steps < config_.steps || training_ != nullptr ||
      in_doubt_ != nullptr || !to_replay_.empty()) {
    return;
  }
  if (config_.eval.items > 0 && !final_eval_started_) {
    final_eval_started_ = true;
    if (!eval_in_progress_) StartEval();
    return;
  }
  if (eval_in_progress_) return;
  finished_ = true;
  LogFinished();
  if (config_.progress_every_ms > 0) PrintProgress();
  LOG(INFO) << "run finished: " << accounting_.steps << " steps";
  if (on_finished_) on_finished_();
}

void TrainingPipeline::LogStep(const Batch& batch, double reward_mean) {
  if (config_.metrics_jsonl.empty()) return;
  nlohmann::json dropped;
  for (int r = 0; r < kNumDropReasons; ++r) {
    dropped[std::string(DropReasonName(static_cast<DropReason>(r)))] = accounting_.dropped[r];
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
  std::ofstream out(config_.metrics_jsonl, std::ios::app);
  out << nlohmann::json({{"kind", "step"},
                         {"step", accounting_.steps},
                         {"version", batch.resulting_version},
                         {"reward_mean", reward_mean},
                         {"created", accounting_.created},
                         {"trained", accounting_.trained},
                         {"open", accounting_.open},
                         {"dropped", dropped},
                         {"balanced", accounting_.balanced()},
                         {"generated_tokens", generated_tokens_},
                         {"elapsed_seconds", elapsed}})
             .dump()
      << "\n";
}

void TrainingPipeline::LogFinished() {
  if (config_.metrics_jsonl.empty() || !first_dispatch_) return;
  auto unix_seconds = [](std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
  };
  std::ofstream out(config_.metrics_jsonl, std::ios::app);
  out << nlohmann::json({{"kind", "finished"},
                         {"steps", accounting_.steps},
                         {"window_start", unix_seconds(*first_dispatch_)},
                         {"window_end", unix_seconds(std::chrono::system_clock::now())}})
             .dump()
      << "\n";
}

void TrainingPipeline::PrintProgress() {
  double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
  std::ostringstream evals;
  for (const EvalResult& e : evals_) {
    evals << " " << std::fixed;
    evals.precision(2);
    evals << e.accuracy() << "@v" << e.requested_version;
  }
  std::printf(
      "progress: step %lld/%lld | reward %.3f | eval%s | gen %.0f tok/s | learner v%llu | "
      "queues gen %zu score %zu ready %zu | groups trained %lld dropped %lld open %lld | %.0fs\n",
      static_cast<long long>(accounting_.steps), static_cast<long long>(config_.steps),
      last_reward_mean_, evals_.empty() ? " -" : evals.str().c_str(),
      elapsed > 0 ? generated_tokens_ / elapsed : 0.0,
      static_cast<unsigned long long>(learner_version_), to_generate_.size(), to_score_.size(),
      ready_.size(), static_cast<long long>(accounting_.trained),
      static_cast<long long>(accounting_.dropped_total()), static_cast<long long>(accounting_.open),
      elapsed);
  std::fflush(stdout);
}

void TrainingPipeline::UpdateGauges() {
  auto gauge = [this](const char* name, const char* help, double value) {
    metrics_->GetGauge(name, help)->Set(value);
  };
  gauge("lightrl_pipeline_step", "Learner steps acknowledged.",
        static_cast<double>(accounting_.steps));
  gauge("lightrl_pipeline_open_groups", "Groups created and not yet trained or dropped.",
        static_cast<double>(accounting_.open));
  gauge("lightrl_pipeline_to_generate", "Groups waiting for a rollout actor.",
        static_cast<double>(to_generate_.size() + eval_to_generate_.size()));
  gauge("lightrl_pipeline_to_score", "Groups waiting for a reward worker.",
        static_cast<double>(to_score_.size()));
  gauge("lightrl_pipeline_ready", "Scored groups waiting for the learner.",
        static_cast<double>(ready_.size()));
  gauge("lightrl_pipeline_learner_version", "Latest policy version.",
        static_cast<double>(learner_version_));
  gauge("lightrl_pipeline_accounting_balanced",
        "1 while created == trained + dropped + open holds.", accounting_.balanced() ? 1 : 0);
}

std::string TrainingPipeline::StatusJson() const {
  nlohmann::json dropped;
  for (int r = 0; r < kNumDropReasons; ++r) {
    dropped[std::string(DropReasonName(static_cast<DropReason>(r)))] = accounting_.dropped[r];
  }
  nlohmann::json evals = nlohmann::json::array();
  for (const EvalResult& e : evals_) {
    evals.push_back(
        {{"version", e.requested_version}, {"accuracy", e.accuracy()}, {"items", e.items}});
  }
  nlohmann::json workers = nlohmann::json::array();
  for (const WorkerInfo& w : registry_->Workers()) {
    workers.push_back({{"id", w.id},
                       {"role", std::string(RoleName(w.role))},
                       {"pid", w.pid},
                       {"host", w.hostname},
                       {"metrics_port", w.metrics_port},
                       {"policy_version", w.policy_version},
                       {"in_flight", w.in_flight},
                       {"credits", registry_->Credits(w.id)}});
  }
  return nlohmann::json({{"step", accounting_.steps},
                         {"steps", config_.steps},
                         {"learner_version", learner_version_},
                         {"created", accounting_.created},
                         {"trained", accounting_.trained},
                         {"open", accounting_.open},
                         {"dropped", dropped},
                         {"balanced", accounting_.balanced()},
                         {"queues",
                          {{"to_generate", to_generate_.size() + eval_to_generate_.size()},
                           {"to_score", to_score_.size()},
                           {"ready", ready_.size()}}},
                         {"evals", evals},
                         {"workers", workers},
                         {"finished", finished_}})
      .dump(2);
}

}  // namespace lightrl
