// The state machine driven event by event, with the accounting and the queues audited after
// every event (GroupStateMachine::Audit recounts them from the groups).
#include "coordinator/group_state_machine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <type_traits>

#include "core/tokenizer.h"

namespace lightrl {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Prompts "p<index>=" (train, unbounded) and "e<index>=" (eval, 4 items). Train items in
// `unreadable` cannot be read; those in `too_long` have a 40-byte prompt.
class FakeTask : public Task {
 public:
  explicit FakeTask(std::string name) : Task(std::move(name)) {}
  int64_t Size(Split split) const override { return split == Split::kEval ? 4 : kUnboundedSize; }
  StatusOr<TaskItem> Item(Split split, int64_t index) const override {
    RETURN_IF_ERROR(CheckIndex(split, index));
    if (split == Split::kEval) return TaskItem{"e" + std::to_string(index) + "=", "{}", ""};
    if (unreadable.count(index)) return DataLossError("item " + std::to_string(index));
    if (too_long.count(index)) return TaskItem{std::string(40, 'x'), "{}", ""};
    return TaskItem{"p" + std::to_string(index) + "=", "{}", ""};
  }
  std::set<int64_t> unreadable, too_long;
};

PipelineConfig AsyncConfig() {
  PipelineConfig config;
  config.mode = PipelineMode::kAsync;
  config.group_size = 2;
  config.groups_per_batch = 2;
  config.steps = 100;
  config.max_staleness = 1;
  config.dynamic_sampling = true;
  config.max_prompt_tokens = 16;
  config.ready_capacity = 4;
  config.max_attempts = 3;
  config.eval.items = 0;
  return config;
}

class GroupStateMachineTest : public ::testing::Test {
 protected:
  void Start(const PipelineConfig& config = AsyncConfig()) {
    config_ = config;
    auto task = std::make_unique<FakeTask>("fake");
    task_ = task.get();
    tasks_.push_back(std::move(task));
    machine_ = std::make_unique<GroupStateMachine>(config_, tasks_);
    Audit();
  }

  // After every event: created == trained + dropped + open, and the groups, queues and
  // accounting agree.
  void Audit() {
    Status audit = machine_->Audit();
    EXPECT_TRUE(audit.ok()) << audit;
    EXPECT_TRUE(machine_->accounting().balanced());
  }

  // Runs one event of the machine, then audits.
  template <typename Event>
  decltype(auto) Do(Event&& event) {
    if constexpr (std::is_void_v<std::invoke_result_t<Event>>) {
      event();
      Audit();
    } else {
      decltype(auto) result = event();
      Audit();
      return result;
    }
  }

  // The learner is at `version` and the initial evaluation is done.
  void Begin(uint64_t version) {
    Do([&] { return machine_->WeightsAnnounced(version); });
    Do([&] { machine_->OpenTraining(); });
  }

  const Group* Next() {
    return Do([&] { return machine_->NextToGenerate(); });
  }

  uint64_t StartGeneration() {
    EXPECT_NE(Next(), nullptr);
    return Do([&] { return machine_->StartGeneration().id; });
  }

  // `group_size` samples of two tokens each, produced by weights `version`.
  static std::vector<Sample> Samples(int count, uint32_t version, TokenId token = '4') {
    std::vector<Sample> samples(count);
    for (Sample& s : samples) {
      s.tokens = {token, ByteTokenizer::kEos};
      s.logprobs = {-0.5f, -0.1f};
      s.versions = {version, version};
      s.finish = FinishReason::kEos;
    }
    return samples;
  }

  void Generated(uint64_t id, uint32_t version) {
    Do([&] { machine_->RolloutReceived(id, Samples(config_.group_size, version)); });
  }

  uint64_t StartScoring() {
    EXPECT_NE(machine_->NextToScore(), nullptr);
    return Do([&] { return machine_->StartScoring().id; });
  }

  std::optional<EvalAnswer> Scored(uint64_t id, std::vector<float> rewards) {
    std::vector<SampleScore> scores;
    for (float r : rewards) {
      scores.push_back({r, r > 0 ? proto::Verdict::CORRECT : proto::Verdict::INCORRECT});
    }
    return Do([&] { return machine_->ScoresReceived(id, scores); });
  }

  // Draws, generates (from `version`) and scores (rewards 0 and 1) a group; returns its id.
  uint64_t MakeReady(uint32_t version) {
    uint64_t id = StartGeneration();
    Generated(id, version);
    uint64_t scoring = StartScoring();
    EXPECT_EQ(scoring, id);
    Scored(scoring, {0, 1});
    return id;
  }

  const Batch& SendBatch() {
    EXPECT_TRUE(Do([&] { return machine_->BatchDue(); }));
    return Do([&]() -> const Batch& { return machine_->StartBatch(); });
  }

  static std::vector<uint64_t> Ids(const Batch& batch) {
    std::vector<uint64_t> ids;
    for (const auto& g : batch.groups) ids.push_back(g->id);
    return ids;
  }

  GroupState StateOf(uint64_t id) {
    const Group* group = machine_->Find(id);
    return group == nullptr ? GroupState::kNew : group->state;  // kNew: no longer held.
  }

  int64_t Dropped(DropReason reason) {
    return machine_->accounting().dropped[static_cast<int>(reason)];
  }

  PipelineConfig config_;
  FakeTask* task_ = nullptr;
  std::vector<std::unique_ptr<Task>> tasks_;
  std::unique_ptr<GroupStateMachine> machine_;
};

TEST_F(GroupStateMachineTest, DrawsOnlyOnceTrainingIsOpenAndTheLearnerHasAVersion) {
  Start();
  EXPECT_EQ(Next(), nullptr);
  Do([&] { return machine_->WeightsAnnounced(1); });
  EXPECT_EQ(Next(), nullptr);  // The initial evaluation has not finished.
  Do([&] { machine_->OpenTraining(); });
  const Group* group = Next();
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->id, 1u);
  EXPECT_EQ(group->state, GroupState::kToGenerate);
  EXPECT_EQ(group->prompt, ByteTokenizer::EncodePrompt("p0="));
  EXPECT_EQ(Next(), group);  // Drawn lazily: one waits until an actor takes it.
  EXPECT_EQ(machine_->accounting().created, 1);
  EXPECT_EQ(machine_->accounting().open, 1);
}

TEST_F(GroupStateMachineTest, SyncModeGeneratesOneBatchOnTheCurrentWeightsAndWaitsForTheNext) {
  PipelineConfig config = AsyncConfig();
  config.mode = PipelineMode::kSync;
  Start(config);
  Begin(3);
  uint64_t a = StartGeneration();
  uint64_t b = StartGeneration();
  EXPECT_EQ(Next(), nullptr);  // Exactly one batch.
  EXPECT_EQ(machine_->Find(a)->min_version, 3u);
  Generated(a, 3);
  Generated(b, 3);
  StartScoring();
  StartScoring();
  Scored(a, {0, 1});
  Scored(b, {1, 0});
  const Batch& batch = SendBatch();
  EXPECT_EQ(batch.resulting_version, 4u);
  EXPECT_THAT(Ids(batch), ElementsAre(a, b));
  EXPECT_EQ(StateOf(a), GroupState::kTraining);
  EXPECT_EQ(Next(), nullptr);  // Nothing new while the learner trains.
  AppliedBatch applied = Do([&] { return machine_->BatchAcked(4, 0); });
  EXPECT_TRUE(applied.new_step);
  EXPECT_EQ(applied.version, 4u);
  EXPECT_DOUBLE_EQ(applied.reward_mean, 0.5);
  EXPECT_EQ(machine_->accounting().trained, 2);
  EXPECT_EQ(machine_->accounting().steps, 1);
  EXPECT_EQ(machine_->accounting().open, 0);
  const Group* next = Next();
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->min_version, 4u);
}

TEST_F(GroupStateMachineTest, AsyncModeKeepsGeneratingWithinTheStalenessWindow) {
  Start();  // Window: min(ready_capacity 4, (max_staleness 1 + 1) x 2) = 4 open groups.
  Begin(5);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(StartGeneration());
  EXPECT_EQ(Next(), nullptr);
  EXPECT_EQ(machine_->Find(ids[0])->min_version, 4u);  // Up to max_staleness behind.
  for (uint64_t id : ids) Generated(id, 5);
  for (uint64_t id : ids) {
    ASSERT_EQ(StartScoring(), id);  // First in, first scored.
    Scored(id, {0, 1});
  }
  SendBatch();
  EXPECT_EQ(Next(), nullptr);  // The trained groups are open until acknowledged.
  Do([&] { return machine_->BatchAcked(6, 0); });
  EXPECT_NE(Next(), nullptr);
  // Async mode sends the next batch while generation goes on.
  EXPECT_THAT(Ids(SendBatch()), ElementsAre(ids[2], ids[3]));
}

TEST_F(GroupStateMachineTest, GenerationIsRetriedAtTheFrontUpToMaxAttempts) {
  Start();
  Begin(1);
  uint64_t first = StartGeneration();
  uint64_t second = StartGeneration();
  const uint64_t queued = Next()->id;
  Do([&] { return machine_->RolloutFailed(first, UnavailableError("worker rollout-0 left")); });
  EXPECT_THAT(machine_->GenerationQueue(Purpose::kTrain), ElementsAre(first, queued));
  ASSERT_EQ(StartGeneration(), first);
  Do([&] { return machine_->RolloutFailed(first, DeadlineExceededError("no reply")); });
  EXPECT_THAT(machine_->GenerationQueue(Purpose::kTrain), ElementsAre(first, queued));
  ASSERT_EQ(StartGeneration(), first);
  EXPECT_EQ(Dropped(DropReason::kGenerationFailed), 0);
  Do([&] { return machine_->RolloutFailed(first, UnavailableError("worker rollout-1 left")); });
  EXPECT_EQ(Dropped(DropReason::kGenerationFailed), 1);  // The third try failed.
  EXPECT_EQ(machine_->Find(first), nullptr);
  EXPECT_THAT(machine_->GenerationQueue(Purpose::kTrain), ElementsAre(queued));
  // An actor that refuses the prompt is not asked again.
  Do([&] { return machine_->RolloutFailed(second, AbortedError("bad prompt")); });
  EXPECT_EQ(Dropped(DropReason::kInvalid), 1);
  EXPECT_EQ(machine_->accounting().open, 1);
}

TEST_F(GroupStateMachineTest, ScoringIsRetriedAtTheFrontWithItsSamplesUpToMaxAttempts) {
  Start();
  Begin(1);
  uint64_t a = StartGeneration();
  uint64_t b = StartGeneration();
  Generated(a, 1);
  Generated(b, 1);
  EXPECT_THAT(machine_->ScoringQueue(), ElementsAre(a, b));
  for (int attempt = 1; attempt < 3; ++attempt) {
    ASSERT_EQ(StartScoring(), a);
    Do([&] { return machine_->ScoringFailed(a, UnavailableError("worker reward-0 left")); });
    EXPECT_THAT(machine_->ScoringQueue(), ElementsAre(a, b));
    EXPECT_EQ(machine_->Find(a)->samples.size(), 2u);  // Scoring again keeps them.
  }
  ASSERT_EQ(StartScoring(), a);
  Do([&] { return machine_->ScoringFailed(a, DeadlineExceededError("no reply")); });
  EXPECT_EQ(Dropped(DropReason::kRewardFailed), 1);
  ASSERT_EQ(StartScoring(), b);
  Do([&] { return machine_->ScoringFailed(b, AbortedError("unknown task")); });
  EXPECT_EQ(Dropped(DropReason::kRewardFailed), 2);
  EXPECT_EQ(machine_->accounting().open, 0);
}

TEST_F(GroupStateMachineTest, MalformedRepliesAndCompletionsThatAreNotTextDropTheGroup) {
  Start();
  Begin(1);
  uint64_t a = StartGeneration();
  uint64_t b = StartGeneration();
  uint64_t c = StartGeneration();
  Do([&] { return machine_->RolloutMalformed(a, "rollout-0: expected 2 samples, got 1"); });
  EXPECT_EQ(Dropped(DropReason::kInvalid), 1);
  Do([&] { machine_->RolloutReceived(b, Samples(2, 1, /*token=*/1000)); });
  Generated(c, 1);
  ASSERT_EQ(machine_->NextToScore()->id, b);
  Do([&] { return machine_->Unscorable(b, "token 1000 is not text"); });
  EXPECT_EQ(Dropped(DropReason::kInvalid), 2);
  ASSERT_EQ(StartScoring(), c);
  Do([&] { return machine_->ScoresMalformed(c, "malformed reward result"); });
  EXPECT_EQ(Dropped(DropReason::kRewardFailed), 1);
  EXPECT_EQ(machine_->accounting().open, 0);
}

TEST_F(GroupStateMachineTest, DynamicSamplingDropsGroupsWhoseRewardsAreAllEqual) {
  Start();
  Begin(1);
  uint64_t a = StartGeneration();
  Generated(a, 1);
  Scored(StartScoring(), {1, 1});
  EXPECT_EQ(Dropped(DropReason::kZeroVariance), 1);
  EXPECT_THAT(machine_->ReadyQueue(), IsEmpty());
  EXPECT_NE(Next(), nullptr);  // Another prompt takes its place.

  PipelineConfig config = AsyncConfig();
  config.dynamic_sampling = false;
  tasks_.clear();
  Start(config);
  Begin(1);
  uint64_t b = StartGeneration();
  Generated(b, 1);
  Scored(StartScoring(), {1, 1});
  EXPECT_THAT(machine_->ReadyQueue(), ElementsAre(b));
}

TEST_F(GroupStateMachineTest, StaleGroupsAreDroppedWhenTheyWouldBeBatched) {
  Start();
  Begin(1);
  uint64_t old1 = MakeReady(1);
  uint64_t old2 = MakeReady(1);
  uint64_t fresh1 = StartGeneration();
  uint64_t fresh2 = StartGeneration();
  Do([&] { return machine_->WeightsAnnounced(3); });  // 1 + max_staleness 1 < 3.
  Generated(fresh1, 3);
  Generated(fresh2, 2);
  Scored(StartScoring(), {0, 1});
  Scored(StartScoring(), {0, 1});
  EXPECT_THAT(machine_->ReadyQueue(), ElementsAre(old1, old2, fresh1, fresh2));
  EXPECT_THAT(Ids(SendBatch()), ElementsAre(fresh1, fresh2));
  EXPECT_EQ(Dropped(DropReason::kStale), 2);
}

TEST_F(GroupStateMachineTest, TooFewFreshGroupsStayAtTheFrontOfTheReadyQueue) {
  Start();
  Begin(1);
  uint64_t old1 = MakeReady(1);
  uint64_t fresh = StartGeneration();
  uint64_t old2 = MakeReady(1);
  Do([&] { return machine_->WeightsAnnounced(3); });
  Generated(fresh, 3);
  Scored(StartScoring(), {0, 1});
  EXPECT_THAT(machine_->ReadyQueue(), ElementsAre(old1, old2, fresh));
  EXPECT_FALSE(Do([&] { return machine_->BatchDue(); }));
  EXPECT_THAT(machine_->ReadyQueue(), ElementsAre(fresh));
  EXPECT_EQ(Dropped(DropReason::kStale), 2);
}

TEST_F(GroupStateMachineTest, StaleGroupsAreRegeneratedUnderTheRegeneratePolicy) {
  PipelineConfig config = AsyncConfig();
  config.stale_policy = StalePolicy::kRegenerate;
  config.ready_capacity = 8;
  config.max_staleness = 3;
  Start(config);
  Begin(1);
  uint64_t a = MakeReady(1);
  uint64_t b = MakeReady(1);
  uint64_t queued = Next()->id;
  Do([&] { return machine_->WeightsAnnounced(9); });
  EXPECT_FALSE(Do([&] { return machine_->BatchDue(); }));
  EXPECT_THAT(machine_->GenerationQueue(Purpose::kTrain), ElementsAre(queued, a, b));
  EXPECT_EQ(machine_->Find(a)->min_version, 6u);
  EXPECT_THAT(machine_->Find(a)->samples, IsEmpty());
  EXPECT_EQ(machine_->accounting().dropped_total(), 0);
}

TEST_F(GroupStateMachineTest, TooLongPromptsAndUnreadableItemsAreDroppedWhenDrawn) {
  Start();
  task_->too_long = {1};
  task_->unreadable = {2};
  Begin(1);
  ASSERT_EQ(StartGeneration(), 1u);
  EXPECT_EQ(Next(), nullptr);  // Item 1 too long, item 2 unreadable: drawing stops there.
  EXPECT_EQ(Dropped(DropReason::kTooLong), 1);
  EXPECT_EQ(Dropped(DropReason::kInvalid), 1);
  EXPECT_EQ(machine_->accounting().created, 3);
  const Group* next = Next();
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->prompt_ref.index, 3);
  EXPECT_EQ(next->id, 3u);  // The unreadable item took no group id.
}

TEST_F(GroupStateMachineTest, ABatchInDoubtThatTheLearnerAppliedIsTrainedOnce) {
  Start();
  Begin(1);
  uint64_t a = MakeReady(1);
  uint64_t b = MakeReady(1);
  std::shared_ptr<const Group> first = SendBatch().groups[0];
  Do([&] { machine_->BatchFailed(2, UnavailableError("worker learner left")); });
  EXPECT_EQ(StateOf(a), GroupState::kInDoubt);
  MakeReady(1);
  MakeReady(1);
  EXPECT_FALSE(Do([&] { return machine_->BatchDue(); }));  // Nothing goes until it is settled.
  EXPECT_FALSE(Do([&] { return machine_->WeightsAnnounced(1); }).has_value());
  EXPECT_EQ(StateOf(b), GroupState::kInDoubt);
  std::optional<AppliedBatch> applied = Do([&] { return machine_->LearnerJoined(2); });
  ASSERT_TRUE(applied.has_value());
  EXPECT_TRUE(applied->new_step);
  EXPECT_EQ(first->state, GroupState::kTrained);
  EXPECT_EQ(machine_->accounting().trained, 2);
  EXPECT_EQ(machine_->accounting().steps, 1);
  EXPECT_EQ(SendBatch().resulting_version, 3u);
}

TEST_F(GroupStateMachineTest, ABatchInDoubtThatTheLearnerLostGoesBackToTheFrontInOrder) {
  Start();
  Begin(1);
  uint64_t a = MakeReady(1);
  uint64_t b = MakeReady(1);
  SendBatch();
  uint64_t c = MakeReady(1);
  Do([&] { machine_->BatchFailed(2, DeadlineExceededError("no ack")); });
  Do([&] { return machine_->WeightsAnnounced(1); });
  EXPECT_THAT(machine_->ReadyQueue(), ElementsAre(c));  // Still in doubt: it may be applying.
  EXPECT_FALSE(Do([&] { return machine_->LearnerJoined(1); }).has_value());
  EXPECT_THAT(machine_->ReadyQueue(), ElementsAre(a, b, c));
  const Batch& again = SendBatch();
  EXPECT_THAT(Ids(again), ElementsAre(a, b));
  EXPECT_EQ(again.resulting_version, 2u);
  EXPECT_EQ(machine_->accounting().steps, 0);
}

TEST_F(GroupStateMachineTest, ALearnerBackOlderThanItsAcknowledgementsGetsThemReplayedInOrder) {
  Start();
  Begin(1);
  std::vector<const Batch*> sent;
  for (uint64_t durable : {0, 0, 2}) {  // Batches for versions 2, 3, 4; 2 is checkpointed.
    const uint32_t version = static_cast<uint32_t>(1 + sent.size());
    MakeReady(version);
    MakeReady(version);
    sent.push_back(&SendBatch());
    Do([&] { return machine_->BatchAcked(sent.back()->resulting_version, durable); });
  }
  EXPECT_EQ(machine_->accounting().steps, 3);
  const int64_t trained = machine_->accounting().trained;
  EXPECT_FALSE(Do([&] { return machine_->LearnerJoined(2); }).has_value());
  EXPECT_EQ(machine_->learner_version(), 2u);
  EXPECT_EQ(Next(), nullptr);  // Nothing new is drawn while replays are owed.
  for (int replay : {1, 2}) {
    const Batch& batch = SendBatch();
    EXPECT_EQ(&batch, sent[replay]);
    AppliedBatch applied = Do([&] { return machine_->BatchAcked(batch.resulting_version, 0); });
    EXPECT_FALSE(applied.new_step);
  }
  EXPECT_EQ(machine_->accounting().steps, 3);
  EXPECT_EQ(machine_->accounting().trained, trained);
  EXPECT_EQ(machine_->learner_version(), 4u);
  EXPECT_NE(Next(), nullptr);
}

TEST_F(GroupStateMachineTest, ReplaysTheLearnerAlreadyHoldsAreNotSentAgain) {
  Start();
  Begin(1);
  std::vector<const Batch*> sent;
  for (uint32_t version = 1; version <= 3; ++version) {
    MakeReady(version);
    MakeReady(version);
    sent.push_back(&SendBatch());
    Do([&] { return machine_->BatchAcked(sent.back()->resulting_version, 0); });
  }
  Do([&] { return machine_->LearnerJoined(1); });
  Do([&] { return machine_->WeightsAnnounced(3); });
  EXPECT_EQ(&SendBatch(), sent[2]);
}

TEST_F(GroupStateMachineTest, ReplaysNoLongerHeldLetTrainingGoOnFromTheLearnersVersion) {
  Start();
  Begin(1);
  MakeReady(1);
  MakeReady(1);
  SendBatch();
  Do([&] { return machine_->BatchAcked(2, 2); });  // Durable: no longer kept.
  Do([&] { return machine_->LearnerJoined(1); });  // A checkpoint older than that one.
  MakeReady(1);
  MakeReady(1);
  EXPECT_EQ(SendBatch().resulting_version, 2u);
  EXPECT_EQ(machine_->accounting().steps, 1);
}

TEST_F(GroupStateMachineTest, ABatchTheLearnerRefusesDropsItsGroups) {
  Start();
  Begin(1);
  uint64_t a = MakeReady(1);
  MakeReady(1);
  SendBatch();
  Do([&] { machine_->BatchFailed(2, AbortedError("token 9999 outside the vocabulary")); });
  EXPECT_EQ(Dropped(DropReason::kInvalid), 2);
  EXPECT_EQ(machine_->Find(a), nullptr);
  EXPECT_EQ(machine_->accounting().steps, 0);
}

TEST_F(GroupStateMachineTest, ARestartResumesFromTheSnapshotOfTheLastTrainedBatch) {
  PipelineConfig config = AsyncConfig();
  config.ready_capacity = 8;
  config.max_staleness = 3;
  Start(config);
  Begin(1);
  MakeReady(1);
  MakeReady(1);
  uint64_t ready = MakeReady(1);
  uint64_t generating = StartGeneration();
  Generated(StartGeneration(), 1);
  Scored(StartScoring(), {2, 2});  // Dropped: zero variance.
  const PromptRef ready_prompt = machine_->Find(ready)->prompt_ref;
  const PromptRef generating_prompt = machine_->Find(generating)->prompt_ref;
  const Batch& batch = SendBatch();
  StatusOr<CoordinatorSnapshot> snapshot = ParseSnapshot(batch.snapshot, 1, "batch");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->trained, 2);
  EXPECT_EQ(snapshot->steps, 1);
  EXPECT_EQ(snapshot->created, 5);
  EXPECT_EQ(snapshot->dropped[static_cast<int>(DropReason::kZeroVariance)], 1);
  EXPECT_THAT(snapshot->open, ElementsAre(ready_prompt, generating_prompt));

  tasks_.clear();
  Start();
  Do([&] { machine_->Restore(*snapshot); });
  EXPECT_EQ(machine_->accounting().open, 2);
  Begin(2);
  uint64_t first = StartGeneration();
  EXPECT_EQ(first, 6u);  // Ids go on from the snapshot.
  EXPECT_EQ(machine_->Find(first)->prompt_ref, ready_prompt);
  EXPECT_EQ(machine_->Find(StartGeneration())->prompt_ref, generating_prompt);
  EXPECT_EQ(machine_->accounting().regenerated, 2);
  EXPECT_EQ(machine_->accounting().created, 5);
  const Group* drawn = Next();
  ASSERT_NE(drawn, nullptr);
  EXPECT_EQ(drawn->prompt_ref.index, 5);  // The cursor goes on.
  EXPECT_EQ(machine_->accounting().created, 6);
}

TEST_F(GroupStateMachineTest, EvalGroupsGoFirstShareScoringAndEndInAnswersNotCounted) {
  Start();
  Begin(2);
  uint64_t train = StartGeneration();
  const int64_t created = machine_->accounting().created;
  ASSERT_TRUE(Do([&] { return machine_->AddEvalGroup({0, 0}); }).ok());
  ASSERT_TRUE(Do([&] { return machine_->AddEvalGroup({0, 1}); }).ok());
  EXPECT_FALSE(Do([&] { return machine_->AddEvalGroup({0, 9}); }).ok());  // Not in the split.
  uint64_t answered = StartGeneration();
  EXPECT_EQ(machine_->Find(answered)->purpose, Purpose::kEval);
  EXPECT_EQ(machine_->Find(answered)->min_version, 2u);  // Greedy answers: current weights.
  uint64_t failing = StartGeneration();
  Generated(train, 2);
  Do([&] { machine_->RolloutReceived(answered, Samples(1, 2)); });
  EXPECT_THAT(machine_->ScoringQueue(), ElementsAre(train, answered));
  ASSERT_EQ(StartScoring(), train);
  ASSERT_EQ(StartScoring(), answered);
  std::optional<EvalAnswer> answer = Scored(answered, {1});
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->correct);
  EXPECT_EQ(answer->min_token_version, 2u);
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) {
      ASSERT_EQ(StartGeneration(), failing);
    }
    answer = Do([&] { return machine_->RolloutFailed(failing, UnavailableError("left")); });
  }
  ASSERT_TRUE(answer.has_value());  // Failed three times: a wrong answer.
  EXPECT_FALSE(answer->correct);
  EXPECT_EQ(machine_->accounting().created, created);
  EXPECT_EQ(machine_->accounting().dropped_total(), 0);
}

using GroupStateMachineDeathTest = GroupStateMachineTest;

TEST_F(GroupStateMachineDeathTest, EventsForGroupsOrBatchesInAnotherStateDie) {
  Start();
  Begin(1);
  uint64_t id = Next()->id;
  EXPECT_DEATH(machine_->RolloutReceived(id, Samples(2, 1)),
               "group 1 is to_generate, not generating");
  EXPECT_DEATH(machine_->ScoringFailed(7, UnavailableError("")), "no open group 7");
  EXPECT_DEATH(machine_->BatchAcked(2, 0), "an ack for a batch the learner does not hold");
}

}  // namespace
}  // namespace lightrl
