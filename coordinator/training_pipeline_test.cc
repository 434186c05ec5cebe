// The real Coordinator — its Messenger, WorkerRegistry, codec and training pipeline — with
// scripted fake workers over inproc:// on a manual clock (coordinator/test_cluster.h): normal
// runs, worker deaths, timeouts, malformed replies, in-doubt batches, replays and a coordinator
// restart. The state machine is audited after every message the coordinator receives.
#include "coordinator/training_pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "coordinator/test_cluster.h"
#include "core/checkpoint_dir.h"
#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::HeldRequest;
using ::testing::IsEmpty;
using testing::TestCluster;

CoordinatorConfig Config(PipelineMode mode, int steps) {
  CoordinatorConfig config;
  config.cluster = testing::TestClusterConfig();
  PipelineConfig& p = config.pipeline.emplace();
  p.mode = mode;
  p.group_size = 2;
  p.groups_per_batch = 2;
  p.steps = steps;
  p.max_staleness = 1;
  p.ready_capacity = 4;
  p.max_attempts = 3;
  p.generation_timeout_ms = 5000;
  p.reward_timeout_ms = 5000;
  p.train_timeout_ms = 5000;
  p.progress_every_ms = 0;
  p.seed = 7;
  p.eval.items = 0;
  p.eval.every_steps = 0;
  p.eval.max_tokens = 4;
  TaskConfig task;
  task.name = "add";
  task.eval_size = 8;
  config.tasks.push_back(task);
  return config;
}

std::vector<nlohmann::json> JsonLines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::vector<uint64_t> GroupIds(const HeldRequest& batch) {
  std::vector<uint64_t> ids;
  for (auto group : batch.body().getTrainBatch().getGroups()) ids.push_back(group.getGroupId());
  return ids;
}

std::vector<uint64_t> BatchIds(const std::vector<HeldRequest>& batches) {
  std::vector<uint64_t> ids;
  for (const HeldRequest& batch : batches) ids.push_back(batch.body().getTrainBatch().getBatchId());
  return ids;
}

// Every worker but `silent` answers.
TestCluster::ServePolicy AllBut(const std::string& silent) {
  TestCluster::ServePolicy policy;
  policy.silent = {silent};
  return policy;
}

// At most `answers` answers.
TestCluster::ServePolicy AtMost(int answers) {
  TestCluster::ServePolicy policy;
  policy.max_answers = answers;
  return policy;
}

class TrainingPipelineTest : public ::testing::Test {
 protected:
  void Start(const CoordinatorConfig& config) { cluster_ = std::make_unique<TestCluster>(config); }

  // A learner holding `version` with one credit, announcing it.
  void JoinLearner(uint64_t version) {
    cluster_->AddWorker("learner", proto::Role::LEARNER, version);
    cluster_->Grant("learner", 1);
    cluster_->Announce("learner", version);
  }

  void JoinWorker(const std::string& id, proto::Role role, uint32_t credits = 1) {
    cluster_->AddWorker(id, role);
    cluster_->Grant(id, credits);
  }

  PipelineAccounting Accounting() {
    PipelineAccounting accounting;
    cluster_->Inspect([&](const TrainingPipeline& p) { accounting = p.accounting(); });
    return accounting;
  }

  std::vector<EvalResult> Evals() {
    std::vector<EvalResult> evals;
    cluster_->Inspect([&](const TrainingPipeline& p) { evals = p.evals(); });
    return evals;
  }

  // The state of open group `id` (kNew when it is no longer held).
  GroupState StateOf(uint64_t id) {
    GroupState state = GroupState::kNew;
    cluster_->Inspect([&](const TrainingPipeline& p) {
      if (const Group* group = p.state().Find(id)) state = group->state;
    });
    return state;
  }

  int64_t Dropped(DropReason reason) { return Accounting().dropped[static_cast<int>(reason)]; }

  void ExpectFinished(int64_t steps, int64_t groups_per_batch = 2) {
    EXPECT_TRUE(cluster_->finished());
    EXPECT_TRUE(cluster_->success());
    PipelineAccounting a = Accounting();
    EXPECT_EQ(a.steps, steps);
    EXPECT_EQ(a.trained, steps * groups_per_batch);
    EXPECT_TRUE(a.balanced());
    EXPECT_GT(cluster_->audits(), 0);
  }

  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(TrainingPipelineTest, SyncRunTrainsOnPolicyEvaluatesBeforeAndAfterAndLogsEachStep) {
  const std::string dir = testing::MakeTempDir("pipeline-sync");
  CoordinatorConfig config = Config(PipelineMode::kSync, 3);
  config.pipeline->eval.items = 2;
  config.pipeline->metrics_jsonl = dir + "/coordinator.jsonl";
  Start(config);
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT);
  JoinWorker("reward-0", proto::Role::REWARD);
  EXPECT_GT(cluster_->Serve(), 0);
  ExpectFinished(3);
  EXPECT_EQ(Accounting().created, 6);
  // Sync mode: every token of a batch comes from the weights the batch is trained from.
  std::vector<HeldRequest> batches = cluster_->Received("learner");
  EXPECT_THAT(BatchIds(batches), ElementsAre(2, 3, 4));
  for (const HeldRequest& batch : batches) {
    const uint64_t id = batch.body().getTrainBatch().getBatchId();
    for (auto group : batch.body().getTrainBatch().getGroups()) {
      for (auto sample : group.getSamples()) {
        for (uint32_t v : sample.getSample().getPolicyVersions()) EXPECT_EQ(v, id - 1);
      }
    }
  }
  EXPECT_EQ(cluster_->AnnouncedTo("rollout-0"), 4u);  // The learner's announces are relayed.
  std::vector<EvalResult> evals = Evals();
  ASSERT_EQ(evals.size(), 2u);
  EXPECT_EQ(evals[0].requested_version, 1u);
  EXPECT_EQ(evals[1].requested_version, 4u);
  EXPECT_EQ(evals[1].items, 2);
  EXPECT_EQ(evals[1].correct, 2);

  std::vector<nlohmann::json> lines = JsonLines(config.pipeline->metrics_jsonl);
  std::vector<std::string> kinds;
  for (const auto& line : lines) kinds.push_back(line["kind"]);
  EXPECT_THAT(kinds, ElementsAre("eval", "step", "step", "step", "eval", "finished"));
  EXPECT_EQ(lines[1]["step"], 1);
  EXPECT_EQ(lines[1]["version"], 2);
  EXPECT_EQ(lines[1]["trained"], 2);
  EXPECT_EQ(lines[1]["open"], 0);
  EXPECT_EQ(lines[1]["reward_mean"], 0.5);
  EXPECT_EQ(lines[1]["balanced"], true);
  EXPECT_EQ(lines[1]["dropped"]["zero_variance"], 0);
  EXPECT_EQ(lines[3]["step"], 3);
  EXPECT_EQ(lines[4]["accuracy"], 1.0);
  EXPECT_EQ(lines[5]["steps"], 3);
  EXPECT_LE(lines[5]["window_start"].get<double>(), lines[5]["window_end"].get<double>());
  nlohmann::json status = nlohmann::json::parse(cluster_->StatusJson());
  EXPECT_EQ(status["finished"], true);
  EXPECT_EQ(status["trained"], 6);
  EXPECT_EQ(status["workers"].size(), 3u);
}

TEST_F(TrainingPipelineTest, TrainingWaitsForTheInitialEvaluation) {
  CoordinatorConfig config = Config(PipelineMode::kAsync, 2);
  config.pipeline->eval.items = 2;
  Start(config);
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT, 4);
  // Only the two eval prompts go out, greedily, one answer each.
  std::vector<HeldRequest> held = cluster_->Held("rollout-0");
  ASSERT_EQ(held.size(), 2u);
  for (const HeldRequest& request : held) {
    auto rollout = request.body().getRolloutRequest();
    EXPECT_EQ(rollout.getSamplesPerPrompt(), 1u);
    EXPECT_EQ(rollout.getSampling().getTemperature(), 0.0f);
    EXPECT_EQ(rollout.getSampling().getMaxTokens(), 4u);
    EXPECT_EQ(rollout.getMinPolicyVersion(), 1u);
  }
  EXPECT_EQ(Accounting().created, 0);
  JoinWorker("reward-0", proto::Role::REWARD);
  cluster_->Serve(AllBut("reward-0"));
  EXPECT_EQ(Accounting().created, 0);  // Answered, not yet scored.
  cluster_->Serve(AtMost(2));
  ASSERT_EQ(Evals().size(), 1u);
  EXPECT_GT(Accounting().created, 0);
  cluster_->Serve();
  ExpectFinished(2);
}

TEST_F(TrainingPipelineTest, AsyncRunEvaluatesBeforeDuringAndAfterAndTrainsNoGroupTwice) {
  CoordinatorConfig config = Config(PipelineMode::kAsync, 4);
  config.pipeline->eval.items = 2;
  config.pipeline->eval.every_steps = 2;
  Start(config);
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT, 2);
  JoinWorker("rollout-1", proto::Role::ROLLOUT, 2);
  JoinWorker("reward-0", proto::Role::REWARD, 2);
  cluster_->Serve();
  ExpectFinished(4);
  std::vector<EvalResult> evals = Evals();
  ASSERT_EQ(evals.size(), 3u);
  EXPECT_EQ(evals[0].requested_version, 1u);
  EXPECT_EQ(evals[1].requested_version, 3u);
  EXPECT_EQ(evals[2].requested_version, 5u);
  std::set<uint64_t> trained;
  for (const HeldRequest& batch : cluster_->Received("learner")) {
    for (uint64_t id : GroupIds(batch)) EXPECT_TRUE(trained.insert(id).second) << id;
  }
  EXPECT_EQ(trained.size(), 8u);
  EXPECT_EQ(Accounting().created, 8);  // Eval groups are not counted.
}

TEST_F(TrainingPipelineTest, ARolloutActorThatDiesGivesItsGroupBackToTheFrontOfTheQueue) {
  Start(Config(PipelineMode::kAsync, 2));
  JoinLearner(1);
  JoinWorker("reward-0", proto::Role::REWARD);
  JoinWorker("rollout-0", proto::Role::ROLLOUT);
  JoinWorker("rollout-1", proto::Role::ROLLOUT);
  const uint64_t lost = cluster_->Held("rollout-0").at(0).group_id();
  const uint64_t kept = cluster_->Held("rollout-1").at(0).group_id();
  cluster_->Kill("rollout-0");
  EXPECT_EQ(StateOf(lost), GroupState::kGenerating);  // Not dead until dead_after.
  cluster_->Advance(Millis(1200));
  EXPECT_EQ(StateOf(lost), GroupState::kToGenerate);
  cluster_->Inspect([&](const TrainingPipeline& p) {
    ASSERT_FALSE(p.state().GenerationQueue(Purpose::kTrain).empty());
    EXPECT_EQ(p.state().GenerationQueue(Purpose::kTrain).front(), lost);
    EXPECT_EQ(p.state().Find(lost)->generation_attempts, 1);
  });
  const HeldRequest request = cluster_->Held("rollout-1").at(0);
  EXPECT_EQ(request.group_id(), kept);
  cluster_->Answer("rollout-1", request, TestCluster::RolloutReply(request, 1));
  cluster_->Grant("rollout-1", 1);
  EXPECT_EQ(cluster_->Held("rollout-1").at(0).group_id(), lost);
  cluster_->Serve();
  ExpectFinished(2);
  EXPECT_EQ(Accounting().dropped_total(), 0);
}

TEST_F(TrainingPipelineTest, ARewardWorkerThatDiesGivesItsGroupBackToTheFrontOfTheQueue) {
  Start(Config(PipelineMode::kAsync, 2));
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT, 3);
  for (const HeldRequest& request : cluster_->Held("rollout-0")) {
    cluster_->Answer("rollout-0", request, TestCluster::RolloutReply(request, 1));
  }
  JoinWorker("reward-0", proto::Role::REWARD);
  JoinWorker("reward-1", proto::Role::REWARD);
  const uint64_t lost = cluster_->Held("reward-0").at(0).group_id();
  cluster_->Kill("reward-0");
  cluster_->Advance(Millis(1200));
  cluster_->Inspect([&](const TrainingPipeline& p) {
    EXPECT_EQ(p.state().ScoringQueue().front(), lost);
    EXPECT_EQ(p.state().Find(lost)->reward_attempts, 1);
    EXPECT_EQ(p.state().Find(lost)->samples.size(), 2u);
  });
  const HeldRequest request = cluster_->Held("reward-1").at(0);
  cluster_->Answer("reward-1", request, TestCluster::RewardReply(request, {0, 1}));
  cluster_->Grant("reward-1", 1);
  EXPECT_EQ(cluster_->Held("reward-1").at(0).group_id(), lost);
  cluster_->Grant("rollout-0", 1);
  cluster_->Serve();
  ExpectFinished(2);
  EXPECT_EQ(Accounting().dropped_total(), 0);
}

// The learner dies holding its first batch (version 2); returns the batch's group ids.
std::vector<uint64_t> KillTheLearnerMidBatch(TestCluster& cluster) {
  cluster.Serve(AllBut("learner"));
  std::vector<HeldRequest> held = cluster.Held("learner");
  EXPECT_EQ(held.size(), 1u);
  EXPECT_EQ(held.at(0).body().getTrainBatch().getBatchId(), 2u);
  cluster.Kill("learner");
  cluster.Advance(Millis(1200));
  return GroupIds(held.at(0));
}

TEST_F(TrainingPipelineTest, ABatchInDoubtThatTheRestartedLearnerAppliedIsTrainedOnce) {
  Start(Config(PipelineMode::kAsync, 3));
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT);
  JoinWorker("reward-0", proto::Role::REWARD);
  std::vector<uint64_t> in_doubt = KillTheLearnerMidBatch(*cluster_);
  for (uint64_t id : in_doubt) EXPECT_EQ(StateOf(id), GroupState::kInDoubt);
  EXPECT_EQ(Accounting().steps, 0);
  JoinLearner(2);  // It had checkpointed the batch before it died.
  EXPECT_EQ(Accounting().steps, 1);
  EXPECT_EQ(Accounting().trained, 2);
  cluster_->Serve();
  ExpectFinished(3);
  std::vector<HeldRequest> batches = cluster_->Received("learner");
  EXPECT_THAT(BatchIds(batches), ElementsAre(3, 4));
  for (const HeldRequest& batch : batches) {
    for (uint64_t id : GroupIds(batch)) {
      EXPECT_THAT(in_doubt, ::testing::Not(::testing::Contains(id)));
    }
  }
}

TEST_F(TrainingPipelineTest, ABatchInDoubtThatTheRestartedLearnerLostIsTrainedAgainFirst) {
  Start(Config(PipelineMode::kAsync, 3));
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT);
  JoinWorker("reward-0", proto::Role::REWARD);
  std::vector<uint64_t> in_doubt = KillTheLearnerMidBatch(*cluster_);
  JoinLearner(1);
  std::vector<HeldRequest> held = cluster_->Held("learner");
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].body().getTrainBatch().getBatchId(), 2u);
  EXPECT_EQ(GroupIds(held[0]), in_doubt);
  cluster_->Serve();
  ExpectFinished(3);
  EXPECT_EQ(Accounting().created, 6);
}

TEST_F(TrainingPipelineTest, ALearnerBackOlderThanItAcknowledgedGetsTheBatchesSinceReplayed) {
  Start(Config(PipelineMode::kAsync, 4));
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT);
  JoinWorker("reward-0", proto::Role::REWARD);
  // Two batches acknowledged, none durable; the learner then dies.
  std::vector<HeldRequest> first_life;
  while (first_life.size() < 2) {
    cluster_->Serve(AllBut("learner"));
    HeldRequest batch = cluster_->Held("learner").at(0);
    first_life.push_back(batch);
    cluster_->Answer("learner", batch, TestCluster::AckReply(0));
    cluster_->Announce("learner", batch.body().getTrainBatch().getBatchId());
    cluster_->Grant("learner", 1);
  }
  cluster_->Serve(AllBut("learner"));
  cluster_->Kill("learner");
  cluster_->Advance(Millis(1200));
  EXPECT_EQ(Accounting().steps, 2);
  JoinLearner(1);  // Its checkpoint is older than both.
  cluster_->Serve();
  ExpectFinished(4);
  std::vector<HeldRequest> second_life = cluster_->Received("learner");
  ASSERT_GE(second_life.size(), 4u);
  EXPECT_THAT(BatchIds(second_life), ElementsAre(2, 3, 4, 5));
  EXPECT_EQ(GroupIds(second_life[0]), GroupIds(first_life[0]));
  EXPECT_EQ(GroupIds(second_life[1]), GroupIds(first_life[1]));
  EXPECT_EQ(second_life[0].body().getTrainBatch().getCoordinatorState(),
            first_life[0].body().getTrainBatch().getCoordinatorState());
  EXPECT_EQ(Accounting().created, 8);
}

TEST_F(TrainingPipelineTest, TimeoutsRetryGenerationUntilMaxAttemptsThenDropTheGroup) {
  CoordinatorConfig config = Config(PipelineMode::kAsync, 1);
  config.pipeline->generation_timeout_ms = 500;
  config.pipeline->max_attempts = 2;
  Start(config);
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT);
  const uint64_t group = cluster_->Held("rollout-0").at(0).group_id();
  cluster_->Advance(Millis(400));
  EXPECT_EQ(StateOf(group), GroupState::kGenerating);
  cluster_->Advance(Millis(200));
  EXPECT_EQ(StateOf(group), GroupState::kToGenerate);
  cluster_->Grant("rollout-0", 1);
  cluster_->Advance(Millis(600));
  EXPECT_EQ(StateOf(group), GroupState::kNew);  // Gone.
  EXPECT_EQ(Dropped(DropReason::kGenerationFailed), 1);
  std::vector<HeldRequest> received = cluster_->Received("rollout-0");
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].group_id(), group);
  EXPECT_EQ(received[1].group_id(), group);
}

TEST_F(TrainingPipelineTest, MalformedRepliesDropTheGroupAndTheRunGoesOn) {
  Start(Config(PipelineMode::kAsync, 2));
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT, 2);
  JoinWorker("reward-0", proto::Role::REWARD);
  // A rollout with one sample where two were asked for.
  std::vector<HeldRequest> rollouts = cluster_->Held("rollout-0");
  ASSERT_EQ(rollouts.size(), 2u);
  OutgoingMessage short_rollout;
  auto rollout = short_rollout.envelope().getBody().initRollout();
  rollout.setGroupId(rollouts[0].group_id());
  auto sample = rollout.initSamples(1)[0];
  FillList(sample.initTokenIds(1), std::vector<uint32_t>{'7'});
  FillList(sample.initBehaviourLogProbs(1), std::vector<float>{-1});
  FillList(sample.initPolicyVersions(1), std::vector<uint32_t>{1});
  cluster_->Answer("rollout-0", rollouts[0], std::move(short_rollout));
  EXPECT_EQ(Dropped(DropReason::kInvalid), 1);
  // A reward that is not a number.
  cluster_->Answer("rollout-0", rollouts[1], TestCluster::RolloutReply(rollouts[1], 1));
  const HeldRequest scoring = cluster_->Held("reward-0").at(0);
  cluster_->Answer("reward-0", scoring, TestCluster::RewardReply(scoring, {NAN, 1}));
  EXPECT_EQ(Dropped(DropReason::kRewardFailed), 1);
  // A learner that answers a batch with something other than an Ack: the batch is in doubt
  // until its announce shows it applied.
  cluster_->Grant("reward-0", 1);
  cluster_->Grant("rollout-0", 2);
  cluster_->Serve(AllBut("learner"));
  const HeldRequest batch = cluster_->Held("learner").at(0);
  OutgoingMessage not_an_ack;
  not_an_ack.envelope().getBody().initHeartbeat();
  cluster_->Answer("learner", batch, std::move(not_an_ack));
  for (uint64_t id : GroupIds(batch)) EXPECT_EQ(StateOf(id), GroupState::kInDoubt);
  cluster_->Announce("learner", 2);
  cluster_->Grant("learner", 1);
  EXPECT_EQ(Accounting().steps, 1);
  cluster_->Serve();
  ExpectFinished(2);
  EXPECT_EQ(Accounting().dropped_total(), 2);
}

TEST_F(TrainingPipelineTest, ARefusedGroupIsDroppedAndOtherErrorsAreRetried) {
  Start(Config(PipelineMode::kAsync, 1));
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT);
  HeldRequest request = cluster_->Held("rollout-0").at(0);
  const uint64_t group = request.group_id();
  cluster_->AnswerError("rollout-0", request, proto::RetryClass::OVERLOADED);
  EXPECT_EQ(StateOf(group), GroupState::kToGenerate);
  cluster_->Grant("rollout-0", 1);
  request = cluster_->Held("rollout-0").at(0);
  EXPECT_EQ(request.group_id(), group);
  cluster_->AnswerError("rollout-0", request, proto::RetryClass::FAILED);
  EXPECT_EQ(StateOf(group), GroupState::kNew);  // Gone.
  EXPECT_EQ(Dropped(DropReason::kInvalid), 1);
  EXPECT_EQ(Dropped(DropReason::kGenerationFailed), 0);
}

TEST_F(TrainingPipelineTest, ARestartedCoordinatorResumesFromTheLearnersNewestCheckpoint) {
  const std::string dir = testing::MakeTempDir("pipeline-restart");
  CoordinatorConfig config = Config(PipelineMode::kAsync, 4);
  config.pipeline->checkpoint_dir = dir + "/checkpoints";
  // The learner checkpoints each batch with the coordinator snapshot the batch carries.
  TestCluster::ServePolicy checkpointing;
  checkpointing.durable_version = [](uint64_t version) { return version; };
  std::string last_snapshot;
  checkpointing.on_batch = [&](const HeldRequest& batch) {
    auto train = batch.body().getTrainBatch();
    last_snapshot = train.getCoordinatorState().cStr();
    std::string folder =
        StepFolder(config.pipeline->checkpoint_dir, static_cast<int64_t>(train.getBatchId()) - 1);
    std::filesystem::create_directories(folder);
    std::ofstream(folder + "/" + kCoordinatorStateFile) << last_snapshot;
    std::ofstream(folder + "/" + kDoneMarker) << "";
  };
  checkpointing.max_answers = 1;
  Start(config);
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT, 2);
  JoinWorker("reward-0", proto::Role::REWARD, 2);
  while (Accounting().steps < 2) cluster_->Serve(checkpointing);
  // Work goes on past the checkpoint, then the coordinator is gone.
  cluster_->Serve(AllBut("learner"));
  cluster_.reset();
  StatusOr<CoordinatorSnapshot> checkpointed = ParseSnapshot(last_snapshot, 1, "checkpoint");
  ASSERT_TRUE(checkpointed.ok()) << checkpointed.status();

  Start(config);
  PipelineAccounting restored = Accounting();
  EXPECT_EQ(restored.steps, 2);
  EXPECT_EQ(restored.trained, 4);
  EXPECT_EQ(restored.created, checkpointed->created);
  EXPECT_EQ(restored.open, static_cast<int64_t>(checkpointed->open.size()));
  EXPECT_GT(restored.open, 0);
  JoinLearner(3);
  JoinWorker("rollout-0", proto::Role::ROLLOUT, 2);
  JoinWorker("reward-0", proto::Role::REWARD, 2);
  cluster_->Serve();
  ExpectFinished(4);
  EXPECT_EQ(Accounting().regenerated, restored.open);
  EXPECT_THAT(BatchIds(cluster_->Received("learner")), ElementsAre(4, 5));
}

TEST_F(TrainingPipelineTest, ProgressLineAndStatusShowTheRunAsItGoes) {
  CoordinatorConfig config = Config(PipelineMode::kAsync, 3);
  config.pipeline->progress_every_ms = 1000;
  Start(config);
  JoinLearner(1);
  JoinWorker("rollout-0", proto::Role::ROLLOUT);
  JoinWorker("reward-0", proto::Role::REWARD);
  while (Accounting().steps < 1) cluster_->Serve(AtMost(1));
  ::testing::internal::CaptureStdout();
  cluster_->Advance(Millis(1000));
  std::string progress = ::testing::internal::GetCapturedStdout();
  EXPECT_THAT(progress, HasSubstr("progress: step 1/3 | reward 0.500 | eval - | gen "));
  EXPECT_THAT(progress, HasSubstr(" | learner v2 | queues gen "));
  EXPECT_THAT(progress, HasSubstr("| groups trained 2 dropped 0 open "));
  nlohmann::json status = nlohmann::json::parse(cluster_->StatusJson());
  EXPECT_EQ(status["step"], 1);
  EXPECT_EQ(status["steps"], 3);
  EXPECT_EQ(status["balanced"], true);
  EXPECT_EQ(status["finished"], false);
  EXPECT_TRUE(status["queues"].contains("to_generate"));
  EXPECT_THAT(status["evals"], IsEmpty());
}

}  // namespace
}  // namespace lightrl
