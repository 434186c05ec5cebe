#include "coordinator/group_state_machine.h"

#include <algorithm>

#include "core/logging.h"
#include "core/tokenizer.h"

namespace lightrl {
namespace {

using S = GroupState;

enum class Who { kAny, kTrain, kEval };     // The purposes a transition is allowed for.
enum class Place { kNone, kBack, kFront };  // Where a queued destination state takes the group.

struct Rule {
  GroupState from;
  GroupState to;
  Who who;
  Place place;
};

// The transition table: every state change a group may make. Transition() CHECK-fails on any
// other. Entering kToGenerate, kToScore or kReady puts the group in that queue, at `place`.
constexpr Rule kTransitions[] = {
    {S::kNew, S::kToGenerate, Who::kAny, Place::kBack},          // Drawn, or an eval prompt.
    {S::kNew, S::kDropped, Who::kTrain, Place::kNone},           // Unreadable, too long.
    {S::kToGenerate, S::kGenerating, Who::kAny, Place::kNone},   // Sent to a rollout actor.
    {S::kGenerating, S::kToGenerate, Who::kAny, Place::kFront},  // Retried.
    {S::kGenerating, S::kToScore, Who::kAny, Place::kBack},      // Generated.
    {S::kGenerating, S::kDropped, Who::kAny, Place::kNone},      // Refused, malformed, tries.
    {S::kToScore, S::kScoring, Who::kAny, Place::kNone},         // Sent to a reward worker.
    {S::kToScore, S::kDropped, Who::kAny, Place::kNone},         // A completion is not text.
    {S::kScoring, S::kToScore, Who::kAny, Place::kFront},        // Retried.
    {S::kScoring, S::kReady, Who::kTrain, Place::kBack},         // Scored.
    {S::kScoring, S::kEvaluated, Who::kEval, Place::kNone},      // Scored.
    {S::kScoring, S::kDropped, Who::kAny, Place::kNone},         // Zero variance, failures.
    {S::kReady, S::kToGenerate, Who::kTrain, Place::kBack},      // Stale, regenerated.
    {S::kReady, S::kDropped, Who::kTrain, Place::kNone},         // Stale.
    {S::kReady, S::kTraining, Who::kTrain, Place::kNone},        // Batched and sent.
    {S::kTraining, S::kTrained, Who::kTrain, Place::kNone},      // Acknowledged.
    {S::kTraining, S::kInDoubt, Who::kTrain, Place::kNone},      // Unanswered.
    {S::kTraining, S::kDropped, Who::kTrain, Place::kNone},      // Refused by the learner.
    {S::kInDoubt, S::kTrained, Who::kTrain, Place::kNone},       // The learner's version has it.
    {S::kInDoubt, S::kReady, Who::kTrain, Place::kFront},        // The learner restarted without.
};

const Rule* FindRule(GroupState from, GroupState to, Purpose purpose) {
  for (const Rule& rule : kTransitions) {
    if (rule.from != from || rule.to != to) continue;
    bool allowed =
        rule.who == Who::kAny || (rule.who == Who::kTrain) == (purpose == Purpose::kTrain);
    return allowed ? &rule : nullptr;
  }
  return nullptr;
}

std::string_view PurposeName(Purpose purpose) {
  return purpose == Purpose::kTrain ? "train" : "eval";
}

}  // namespace

bool GroupStateMachine::Refused(const Status& status) {
  return status.code() == StatusCode::kAborted;
}

int64_t PipelineAccounting::dropped_total() const {
  int64_t total = 0;
  for (int64_t d : dropped) total += d;
  return total;
}

GroupStateMachine::GroupStateMachine(const PipelineConfig& config,
                                     std::span<const std::unique_ptr<Task>> tasks)
    : config_(config), tasks_(tasks), cursors_(tasks.size(), 0) {
  CHECK(!tasks.empty());
}

void GroupStateMachine::Restore(const CoordinatorSnapshot& snapshot) {
  CHECK(groups_.empty() && accounting_.created == 0) << "restore only a fresh state machine";
  CHECK_EQ(snapshot.cursors.size(), cursors_.size());
  next_group_id_ = snapshot.next_group_id;
  cursors_ = snapshot.cursors;
  accounting_.created = snapshot.created;
  accounting_.trained = snapshot.trained;
  accounting_.steps = snapshot.steps;
  std::copy(snapshot.dropped.begin(), snapshot.dropped.end(), accounting_.dropped);
  restored_prompts_.assign(snapshot.open.begin(), snapshot.open.end());
  accounting_.open = static_cast<int64_t>(restored_prompts_.size());
  CHECK(accounting_.balanced()) << "ReadLatestSnapshot checks the balance";
}

void GroupStateMachine::OpenTraining() { training_open_ = true; }

std::deque<uint64_t>* GroupStateMachine::QueueOf(GroupState state, Purpose purpose) {
  switch (state) {
    case S::kToGenerate:
      return &to_generate_[static_cast<int>(purpose)];
    case S::kToScore:
      return &to_score_;
    case S::kReady:
      return &ready_;
    default:
      return nullptr;
  }
}

const std::deque<uint64_t>* GroupStateMachine::QueueOf(GroupState state, Purpose purpose) const {
  return const_cast<GroupStateMachine*>(this)->QueueOf(state, purpose);
}

void GroupStateMachine::Transition(Group& group, GroupState to, DropReason reason) {
  const GroupState from = group.state;
  const Rule* rule = FindRule(from, to, group.purpose);
  CHECK(rule != nullptr) << "illegal transition of " << PurposeName(group.purpose) << " group "
                         << group.id << ": " << from << " -> " << to;
  if (std::deque<uint64_t>* queue = QueueOf(from, group.purpose)) {
    auto it = std::find(queue->begin(), queue->end(), group.id);
    CHECK(it != queue->end()) << "group " << group.id << " is not in its queue";
    queue->erase(it);
  }
  group.state = to;
  if (std::deque<uint64_t>* queue = QueueOf(to, group.purpose)) {
    CHECK(rule->place != Place::kNone);
    if (rule->place == Place::kFront) {
      queue->push_front(group.id);
    } else {
      queue->push_back(group.id);
    }
  }
  if (group.purpose == Purpose::kTrain) {
    if (from == S::kNew) {
      // A restored prompt was counted by the snapshot it comes from.
      if (group.restored) {
        ++accounting_.regenerated;
      } else {
        ++accounting_.created;
        ++accounting_.open;
      }
    }
    if (to == S::kTrained) {
      --accounting_.open;
      ++accounting_.trained;
    } else if (to == S::kDropped) {
      --accounting_.open;
      ++accounting_.dropped[static_cast<int>(reason)];
    }
    CHECK(accounting_.balanced()) << "group " << group.id << ": " << from << " -> " << to;
  }
  if (IsTerminal(to)) groups_.erase(group.id);  // Last: `group` may be gone after this.
}

std::optional<EvalAnswer> GroupStateMachine::Drop(Group& group, DropReason reason,
                                                  std::string_view why) {
  if (group.purpose == Purpose::kEval) {
    LOG(WARNING) << "eval group " << group.id << " failed (" << DropReasonName(reason)
                 << "): " << why;
    Transition(group, S::kDropped, reason);
    return EvalAnswer{};  // A wrong answer.
  }
  LOG(INFO) << "dropping group " << group.id << " (" << DropReasonName(reason) << "): " << why;
  Transition(group, S::kDropped, reason);
  return std::nullopt;
}

Group& GroupStateMachine::Expect(uint64_t id, GroupState state) {
  auto it = groups_.find(id);
  CHECK(it != groups_.end()) << "no open group " << id;
  CHECK(it->second->state == state)
      << "group " << id << " is " << it->second->state << ", not " << state;
  return *it->second;
}

// --- Generation ---

bool GroupStateMachine::MayDrawTrainGroup() const {
  if (!training_open_ || learner_version_ == 0 || !to_replay_.empty()) return false;
  const int64_t batch = config_.groups_per_batch;
  int64_t still_needed = (config_.steps - accounting_.steps) * batch;
  if (accounting_.open >= still_needed) return false;
  if (config_.mode == PipelineMode::kSync) {
    return training_ == nullptr && accounting_.open < batch;
  }
  int64_t window = std::min<int64_t>(config_.ready_capacity, (config_.max_staleness + 1) * batch);
  return accounting_.open < window && static_cast<int64_t>(ready_.size()) < config_.ready_capacity;
}

uint64_t GroupStateMachine::MinVersion(uint64_t slack) const {
  return learner_version_ > slack ? learner_version_ - slack : 1;
}

std::shared_ptr<Group> GroupStateMachine::NewGroup(Purpose purpose, PromptRef prompt,
                                                   const TaskItem& item) {
  auto group = std::make_shared<Group>();
  group->id = next_group_id_++;
  group->purpose = purpose;
  group->prompt_ref = prompt;
  group->prompt = ByteTokenizer::EncodePrompt(item.prompt);
  group->reference = item.reference_json;
  // Sync mode and evaluations need the current weights; async generation may start with
  // weights up to max_staleness versions old (the group is then still fresh enough to train).
  bool exact = purpose == Purpose::kEval || config_.mode == PipelineMode::kSync;
  group->min_version = MinVersion(exact ? 0 : static_cast<uint64_t>(config_.max_staleness));
  groups_[group->id] = group;
  return group;
}

bool GroupStateMachine::DrawTrainGroup() {
  PromptRef prompt;
  const bool restored = !restored_prompts_.empty();
  if (restored) {
    prompt = restored_prompts_.front();
    restored_prompts_.pop_front();
  } else {
    prompt.task = static_cast<int>(next_task_++ % tasks_.size());
    // A finite dataset is read again from the start once its train split is used up.
    int64_t size = tasks_[prompt.task]->Size(Split::kTrain);
    int64_t& cursor = cursors_[prompt.task];
    prompt.index = size > 0 ? cursor++ % size : cursor++;
  }
  StatusOr<TaskItem> item = tasks_[prompt.task]->Item(Split::kTrain, prompt.index);
  if (!item.ok()) {
    // Created and dropped at once. The caller tries again at its next call rather than
    // spinning through the task here.
    LOG(WARNING) << "task " << tasks_[prompt.task]->name() << " item " << prompt.index << ": "
                 << item.status();
    Group unreadable;
    unreadable.restored = restored;
    unreadable.prompt_ref = prompt;
    Transition(unreadable, S::kDropped, DropReason::kInvalid);
    return false;
  }
  std::shared_ptr<Group> group = NewGroup(Purpose::kTrain, prompt, *item);
  group->restored = restored;
  if (static_cast<int>(group->prompt.size()) > config_.max_prompt_tokens) {
    Drop(*group, DropReason::kTooLong, std::to_string(group->prompt.size()) + " prompt tokens");
  } else {
    Transition(*group, S::kToGenerate);
  }
  return true;
}

const Group* GroupStateMachine::NextToGenerate() {
  while (true) {
    for (Purpose purpose : {Purpose::kEval, Purpose::kTrain}) {
      const std::deque<uint64_t>& queue = to_generate_[static_cast<int>(purpose)];
      if (!queue.empty()) return groups_.at(queue.front()).get();
    }
    if (!MayDrawTrainGroup() || !DrawTrainGroup()) return nullptr;
  }
}

const Group& GroupStateMachine::StartGeneration() {
  const std::deque<uint64_t>& eval = to_generate_[static_cast<int>(Purpose::kEval)];
  const std::deque<uint64_t>& queue =
      !eval.empty() ? eval : to_generate_[static_cast<int>(Purpose::kTrain)];
  CHECK(!queue.empty()) << "no group to generate";
  Group& group = *groups_.at(queue.front());
  Transition(group, S::kGenerating);
  return group;
}

void GroupStateMachine::RolloutReceived(uint64_t id, std::vector<Sample> samples) {
  Group& group = Expect(id, S::kGenerating);
  group.samples.clear();
  for (Sample& sample : samples) group.samples.push_back({std::move(sample), {}});
  Transition(group, S::kToScore);
}

std::optional<EvalAnswer> GroupStateMachine::RolloutMalformed(uint64_t id, std::string_view why) {
  return Drop(Expect(id, S::kGenerating), DropReason::kInvalid, why);
}

std::optional<EvalAnswer> GroupStateMachine::RolloutFailed(uint64_t id, const Status& status) {
  Group& group = Expect(id, S::kGenerating);
  if (Refused(status)) return Drop(group, DropReason::kInvalid, status.ToString());
  if (++group.generation_attempts >= config_.max_attempts) {
    return Drop(
        group, DropReason::kGenerationFailed,
        std::to_string(group.generation_attempts) + " attempts failed; last: " + status.ToString());
  }
  group.samples.clear();  // Generating again starts from nothing.
  Transition(group, S::kToGenerate);
  return std::nullopt;
}

// --- Scoring ---

const Group* GroupStateMachine::NextToScore() const {
  return to_score_.empty() ? nullptr : groups_.at(to_score_.front()).get();
}

const Group& GroupStateMachine::StartScoring() {
  CHECK(!to_score_.empty()) << "no group to score";
  Group& group = *groups_.at(to_score_.front());
  Transition(group, S::kScoring);
  return group;
}

std::optional<EvalAnswer> GroupStateMachine::Unscorable(uint64_t id, std::string_view why) {
  return Drop(Expect(id, S::kToScore), DropReason::kInvalid, why);
}

std::optional<EvalAnswer> GroupStateMachine::ScoresReceived(uint64_t id,
                                                            std::span<const SampleScore> scores) {
  Group& group = Expect(id, S::kScoring);
  CHECK_EQ(scores.size(), group.samples.size()) << "the codec checks the number of scores";
  for (size_t i = 0; i < scores.size(); ++i) group.samples[i].score = scores[i];
  if (group.purpose == Purpose::kEval) {
    const ScoredSample& answer = group.samples.front();
    EvalAnswer result{answer.score.verdict == proto::Verdict::CORRECT, UINT64_MAX};
    for (uint32_t v : answer.sample.versions) {
      result.min_token_version = std::min<uint64_t>(result.min_token_version, v);
    }
    Transition(group, S::kEvaluated);
    return result;
  }
  const float first = group.samples.front().score.reward;
  bool all_equal = std::all_of(group.samples.begin(), group.samples.end(),
                               [&](const ScoredSample& s) { return s.score.reward == first; });
  if (config_.dynamic_sampling && all_equal) {
    return Drop(group, DropReason::kZeroVariance, "every reward is " + std::to_string(first));
  }
  Transition(group, S::kReady);
  return std::nullopt;
}

std::optional<EvalAnswer> GroupStateMachine::ScoresMalformed(uint64_t id, std::string_view why) {
  return Drop(Expect(id, S::kScoring), DropReason::kRewardFailed, why);
}

std::optional<EvalAnswer> GroupStateMachine::ScoringFailed(uint64_t id, const Status& status) {
  Group& group = Expect(id, S::kScoring);
  if (Refused(status)) return Drop(group, DropReason::kRewardFailed, status.ToString());
  if (++group.reward_attempts >= config_.max_attempts) {
    return Drop(
        group, DropReason::kRewardFailed,
        std::to_string(group.reward_attempts) + " attempts failed; last: " + status.ToString());
  }
  Transition(group, S::kToScore);  // Scoring again keeps the samples.
  return std::nullopt;
}

// --- Evaluation ---

Status GroupStateMachine::AddEvalGroup(PromptRef prompt) {
  CHECK(prompt.task >= 0 && prompt.task < static_cast<int>(tasks_.size()));
  StatusOr<TaskItem> item = tasks_[prompt.task]->Item(Split::kEval, prompt.index);
  if (!item.ok()) return item.status();
  Transition(*NewGroup(Purpose::kEval, prompt, *item), S::kToGenerate);
  return Status::Ok();
}

// --- Views ---

QueueSizes GroupStateMachine::queue_sizes() const {
  return {to_generate_[0].size() + to_generate_[1].size(), to_score_.size(), ready_.size()};
}

const Group* GroupStateMachine::Find(uint64_t id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

std::vector<uint64_t> GroupStateMachine::GenerationQueue(Purpose purpose) const {
  const auto& queue = to_generate_[static_cast<int>(purpose)];
  return {queue.begin(), queue.end()};
}

std::vector<uint64_t> GroupStateMachine::ScoringQueue() const {
  return {to_score_.begin(), to_score_.end()};
}

std::vector<uint64_t> GroupStateMachine::ReadyQueue() const {
  return {ready_.begin(), ready_.end()};
}

Status GroupStateMachine::Audit() const {
  if (!accounting_.balanced()) {
    return InternalError("created " + std::to_string(accounting_.created) + " != trained " +
                         std::to_string(accounting_.trained) + " + dropped " +
                         std::to_string(accounting_.dropped_total()) + " + open " +
                         std::to_string(accounting_.open));
  }
  int64_t open = static_cast<int64_t>(restored_prompts_.size());
  std::map<const std::deque<uint64_t>*, size_t> queued;
  for (const auto& [id, group] : groups_) {
    if (group->id != id || IsTerminal(group->state) || group->state == S::kNew) {
      return InternalError("group " + std::to_string(id) + " is " +
                           std::string(GroupStateName(group->state)) + " and still held");
    }
    open += group->purpose == Purpose::kTrain;
    if (const std::deque<uint64_t>* queue = QueueOf(group->state, group->purpose)) {
      if (std::count(queue->begin(), queue->end(), id) != 1) {
        return InternalError("group " + std::to_string(id) + " is " +
                             std::string(GroupStateName(group->state)) +
                             " but not once in that queue");
      }
      ++queued[queue];
    }
  }
  if (open != accounting_.open) {
    return InternalError("accounting says " + std::to_string(accounting_.open) +
                         " open groups, the state machine holds " + std::to_string(open));
  }
  for (const auto* queue : {&to_generate_[0], &to_generate_[1], &to_score_, &ready_}) {
    if (queue->size() != queued[queue]) {
      return InternalError("a queue holds " + std::to_string(queue->size()) + " ids for " +
                           std::to_string(queued[queue]) + " groups in its state");
    }
  }
  auto expect_batch_state = [](const std::shared_ptr<Batch>& batch, GroupState state) {
    if (batch == nullptr) return true;
    return std::all_of(batch->groups.begin(), batch->groups.end(), [&](const auto& g) {
      return g->state == (batch->acknowledged ? S::kTrained : state);
    });
  };
  if (!expect_batch_state(training_, S::kTraining) || !expect_batch_state(in_doubt_, S::kInDoubt)) {
    return InternalError("a batch at the learner holds groups in another state");
  }
  return Status::Ok();
}

}  // namespace lightrl
