// A rollout actor and a reward worker as real processes of the lightrl binary, over tcp
// loopback, against a test coordinator in this process (a registry-only Coordinator and a
// WeightServer on one actor) that speaks the protocol message by message: the rollout pulls
// the announced weights and generates groups whose log-probs match this process's recompute
// of the same weights, switches weights in the middle of a generation, the reward worker
// scores like the task's own verifier, and both stop cleanly on SIGTERM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <future>
#include <thread>

#include "actors/actor.h"
#include "actors/codec.h"
#include "coordinator/coordinator.h"
#include "core/http_client.h"
#include "core/tokenizer.h"
#include "model/model.h"
#include "tasks/reference.h"
#include "tasks/rule_verifiers.h"
#include "tasks/task.h"
#include "tests/util/subprocess.h"
#include "tests/util/test_coordinator.h"

namespace lightrl {
namespace {

using std::chrono::milliseconds;

struct ScoreOut {
  uint32_t index;
  float score;
  proto::Verdict verdict;
};

class WorkerProcessesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterConfig cluster;
    cluster.coordinator_endpoint = "tcp://127.0.0.1:0";
    cluster.heartbeat_interval_ms = 100;
    cluster.dead_after_ms = 2000;
    auto coordinator = testing::TestCoordinator::Start(context_, cluster);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    coordinator_ = std::move(*coordinator);
    const std::string endpoint = coordinator_->endpoint();
    ASSERT_THAT(endpoint, ::testing::StartsWith("tcp://127.0.0.1:"));

    dir_ = testing::MakeTempDir("workers");
    config_ = dir_ + "/run.yaml";
    std::ofstream(config_) << "cluster:\n"
                           << "  coordinator: " << endpoint << "\n"
                           << "  heartbeat_interval_ms: 100\n"
                           << "  dead_after_ms: 2000\n"
                           << "model:\n"
                           << "  config: " << testing::SourcePath("tests/configs/tiny_model.json")
                           << "\n"
                           << "tasks:\n"
                           << "  - {name: add, kind: addition}\n"
                           << "rollout: {max_batch: 16, groups_in_flight: 2,"
                           << " weight_switch: mid_generation}\n"
                           << "reward: {threads: 1, sandbox: {enabled: false}}\n"
                           << "launcher: {run_dir: " << dir_ << "}\n";
    TaskConfig task_config;
    task_config.name = "add";
    auto task = MakeTask(task_config);
    ASSERT_TRUE(task.ok());
    task_ = std::move(*task);
  }

  void TearDown() override {
    workers_.clear();
    coordinator_.reset();
  }

  void StartWorker(const std::string& role, const std::string& id) {
    auto process =
        testing::Subprocess::Start({testing::BuildPath("lightrl"), role, "--config=" + config_,
                                    "--id=" + id, "--metrics_address=127.0.0.1:0"},
                                   dir_ + "/" + id + ".log");
    ASSERT_TRUE(process.ok()) << process.status();
    workers_.push_back(std::move(*process));
  }

  std::vector<ScoreOut> Score(uint64_t group, int64_t item_index, const TaskItem& item,
                              const std::vector<std::string>& completions) {
    std::promise<std::vector<ScoreOut>> result;
    coordinator_->Call([&](Coordinator& c) {
      OutgoingMessage message;
      auto request = message.envelope().getBody().initRewardRequest();
      request.setGroupId(group);
      auto task = request.initTask();
      task.setTaskName("add");
      task.setItemIndex(static_cast<uint64_t>(item_index));
      task.setReference(item.reference_json);
      auto items = request.initItems(static_cast<uint>(completions.size()));
      for (size_t i = 0; i < completions.size(); ++i) {
        items[static_cast<uint>(i)].setSampleIndex(static_cast<uint32_t>(i));
        items[static_cast<uint>(i)].setCompletion(completions[i]);
      }
      c.messenger().Request(
          "reward-0", std::move(message), milliseconds(30000),
          [&result](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
            std::vector<ScoreOut> scores;
            if (reply.ok() && (*reply)->envelope().getBody().isRewardResult()) {
              for (auto s : (*reply)->envelope().getBody().getRewardResult().getScores()) {
                scores.push_back({s.getSampleIndex(), s.getScore(), s.getVerdict()});
              }
            }
            result.set_value(std::move(scores));
          });
    });
    return result.get_future().get();
  }

  // The rollout's gauge of sequences being decoded, read from its /metrics endpoint.
  double ActiveSequences(uint16_t port) {
    auto reply =
        HttpGet("http://127.0.0.1:" + std::to_string(port) + "/metrics", milliseconds(2000));
    if (!reply.ok()) return 0;
    const std::string name = "\nlightrl_rollout_active_sequences ";
    size_t at = reply->body.find(name);
    return at == std::string::npos ? 0 : std::stod(reply->body.substr(at + name.size()));
  }

  zmq::context_t context_{1};
  std::unique_ptr<testing::TestCoordinator> coordinator_;
  std::string dir_, config_;
  std::unique_ptr<Task> task_;
  std::vector<testing::Subprocess> workers_;
};

TEST_F(WorkerProcessesTest, RolloutAndRewardProcessesServeATestCoordinatorOverTcp) {
  auto v1 = coordinator_->Publish(1, 11);
  StartWorker("rollout", "rollout-0");
  StartWorker("reward", "reward-0");
  ASSERT_TRUE(coordinator_->WaitFor([](Coordinator& c) {
    return c.registry().Find("rollout-0") != nullptr && c.registry().Find("reward-0") != nullptr;
  })) << "the workers did not register";
  // A rollout actor takes no work before it holds weights: no credits yet.
  uint32_t credits = 1;
  coordinator_->Call([&](Coordinator& c) { credits = c.registry().Credits("rollout-0"); });
  EXPECT_EQ(credits, 0u);
  coordinator_->Announce("rollout-0", 1);
  ASSERT_TRUE(coordinator_->WaitFor([](Coordinator& c) {
    return c.registry().Credits("rollout-0") > 0;
  })) << "the rollout did not take version 1";

  // A group: every sample's log-probs are those of this process's recompute of version 1.
  const int64_t item_index = 3;
  auto item = task_->Item(Split::kTrain, item_index);
  ASSERT_TRUE(item.ok());
  const std::vector<TokenId> prompt = ByteTokenizer::EncodePrompt(item->prompt);
  std::vector<Sample> group = coordinator_->Generate("rollout-0", 1, prompt, 4, 8).get();
  ASSERT_EQ(group.size(), 4u);
  model::PackedBatch batch;
  for (const Sample& s : group) {
    ASSERT_FALSE(s.tokens.empty());
    ASSERT_EQ(s.logprobs.size(), s.tokens.size());
    EXPECT_THAT(s.versions, ::testing::Each(1u));
    std::vector<TokenId> sequence = prompt;
    sequence.insert(sequence.end(), s.tokens.begin(), s.tokens.end());
    std::vector<uint8_t> mask(prompt.size(), 0);
    mask.resize(sequence.size(), 1);
    batch.Append(sequence, mask);
  }
  auto recompute = v1->Forward(batch, {.keep_activations = false});
  ASSERT_TRUE(recompute.ok());
  size_t at = 0;
  for (const Sample& s : group) {
    at += prompt.size();
    for (size_t t = 0; t < s.tokens.size(); ++t, ++at) {
      EXPECT_NEAR(s.logprobs[t], recompute->logprobs[at], 1e-5) << "token " << t;
    }
  }

  // The reward worker scores like the task's verifier: the reference solution passes, the
  // sampled completions (a random model's) get what the verifier gives them.
  std::vector<std::string> completions = {item->solution};
  for (const Sample& s : group) {
    auto text = ByteTokenizer::DecodeCompletion(s.tokens);
    ASSERT_TRUE(text.ok());
    completions.push_back(*text);
  }
  std::vector<ScoreOut> scores = Score(7, item_index, *item, completions);
  ASSERT_EQ(scores.size(), completions.size());
  auto reference = ParseReference(item->reference_json);
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(scores[0].score, 1.0f);
  EXPECT_EQ(scores[0].verdict, proto::Verdict::CORRECT);
  for (size_t i = 0; i < scores.size(); ++i) {
    EXPECT_EQ(scores[i].index, i);
    auto expected = VerifyByRule(*reference, completions[i]);
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(scores[i].score, static_cast<float>(expected->score)) << completions[i];
  }

  // New weights land while a long group is being generated: tokens after the switch carry
  // version 2, and no sample is lost.
  uint16_t metrics_port = 0;
  coordinator_->Call(
      [&](Coordinator& c) { metrics_port = c.registry().Find("rollout-0")->metrics_port; });
  ASSERT_GT(metrics_port, 0);
  auto long_group = coordinator_->Generate("rollout-0", 2, prompt, 4, 600);
  auto deadline = std::chrono::steady_clock::now() + milliseconds(30000);
  while (ActiveSequences(metrics_port) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(2));  // Polls the process's /metrics.
  }
  coordinator_->Publish(2, 22);
  coordinator_->Announce("rollout-0", 2);
  std::vector<Sample> switched = long_group.get();
  ASSERT_EQ(switched.size(), 4u);
  bool spans_both = false;
  for (const Sample& s : switched) {
    ASSERT_EQ(s.versions.size(), s.tokens.size());
    EXPECT_TRUE(std::is_sorted(s.versions.begin(), s.versions.end()));
    spans_both = spans_both || (s.versions.front() == 1 && s.versions.back() == 2);
  }
  EXPECT_TRUE(spans_both) << "no sample saw the switch";

  // Both stop cleanly on SIGTERM.
  for (testing::Subprocess& worker : workers_) {
    worker.Kill(SIGTERM);
    auto status = worker.Wait(milliseconds(20000));
    ASSERT_TRUE(status.ok());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  }
}

}  // namespace
}  // namespace lightrl
