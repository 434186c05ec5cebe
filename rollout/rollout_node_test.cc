// The rollout node against a stand-in coordinator and learner in this process: a real
// RolloutNode (its own actor and generation thread) over real sockets.
#include "rollout/rollout_node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "actors/coordinator.h"
#include "learner/weights_export.h"
#include "model/config.h"
#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using std::chrono::milliseconds;

struct SampleOut {
  std::vector<uint32_t> tokens;
  std::vector<float> logprobs;
  std::vector<uint32_t> versions;
};

// A coordinator (registry only) plus a weight server on one actor.
class RolloutNodeTest : public ::testing::TestWithParam<WeightSwitch> {
 protected:
  void SetUp() override {
    auto model_config = model::LoadModelConfig(testing::SourcePath("tests/configs/tiny_model.json"));
    ASSERT_TRUE(model_config.ok());
    model_config_ = *model_config;
    cluster_.coordinator_endpoint = "inproc://rollout-test";
    cluster_.heartbeat_interval_ms = 50;
    cluster_.dead_after_ms = 1000;
    auto actor = Actor::Start(
        "coordinator",
        [this](EventLoop& loop) -> Status {
          ASSIGN_OR_RETURN(coordinator_,
                           Coordinator::Create(context_, &loop, {cluster_, {}, {}, {}}, &metrics_));
          ASSIGN_OR_RETURN(weights_, WeightServer::Create(context_, &loop, WeightServerConfig(),
                                                          &metrics_));
          return Status::Ok();
        },
        [this] {
          weights_.reset();
          coordinator_.reset();
        });
    ASSERT_TRUE(actor.ok()) << actor.status();
    actor_ = std::move(*actor);
    Publish(1, 11);
    RolloutNodeConfig config;
    config.worker_id = "rollout-t";
    config.cluster = cluster_;
    config.model_config = testing::SourcePath("tests/configs/tiny_model.json");
    config.weight_switch = GetParam();
    auto node = RolloutNode::Start(context_, config, &rollout_metrics_);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
    AnnounceWhenJoined();
  }

  void TearDown() override {
    node_.reset();
    actor_.reset();
  }

  // Publishes random weights as `version`.
  void Publish(uint64_t version, uint64_t seed) {
    auto model = model::Model::Create(model_config_);
    ASSERT_TRUE(model.ok());
    (*model)->InitializeRandom(seed);
    WeightsImage image = ExportWeights((*model)->params(), version);
    ASSERT_TRUE(actor_->Call([&] { CHECK_OK(weights_->Publish(std::move(image))); }).ok());
  }

  void Announce(uint64_t version) {
    ASSERT_TRUE(actor_->Call([&] {
      OutgoingMessage message;
      CHECK_OK(weights_->FillAnnounce(version, message.envelope().getBody().initWeightsAnnounce()));
      CHECK_OK(coordinator_->messenger().Send("rollout-t", std::move(message)).status());
    }).ok());
  }

  // Waits for `condition` (evaluated on the coordinator's thread) with a deadline.
  bool WaitFor(const std::function<bool()>& condition, milliseconds timeout = milliseconds(20000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool met = false;
      CHECK_OK(actor_->Call([&] { met = condition(); }));
      if (met) return true;
      std::this_thread::sleep_for(milliseconds(5));  // Polls another thread's state.
    }
    return false;
  }

  void AnnounceWhenJoined() {
    ASSERT_TRUE(WaitFor([&] { return coordinator_->registry().Find("rollout-t") != nullptr; }));
    Announce(1);
    // Credits show that the node holds weights and takes work.
    ASSERT_TRUE(WaitFor([&] { return coordinator_->registry().Credits("rollout-t") > 0; }));
  }

  std::future<std::vector<SampleOut>> Request(uint64_t group, int max_tokens) {
    auto result = std::make_shared<std::promise<std::vector<SampleOut>>>();
    CHECK_OK(actor_->Call([&, result] {
      OutgoingMessage message;
      auto request = message.envelope().getBody().initRolloutRequest();
      request.setGroupId(group);
      std::vector<uint32_t> prompt = {256, '1', '+', '2', '='};
      FillList(request.initPromptTokens(5), prompt);
      request.setSamplesPerPrompt(4);
      request.initSampling().setMaxTokens(static_cast<uint32_t>(max_tokens));
      request.getSampling().setSeed(group * 100);
      request.getSampling().setRepetitionWindow(0);
      coordinator_->messenger().Request(
          "rollout-t", std::move(message), milliseconds(60000),
          [result](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
            std::vector<SampleOut> samples;
            if (reply.ok()) {
              for (auto s : (*reply)->envelope().getBody().getRollout().getSamples()) {
                SampleOut out;
                CopyList(s.getTokenIds(), &out.tokens);
                CopyList(s.getBehaviourLogProbs(), &out.logprobs);
                CopyList(s.getPolicyVersions(), &out.versions);
                samples.push_back(std::move(out));
              }
            }
            result->set_value(std::move(samples));
          });
    }));
    return result->get_future();
  }

  double ActiveSequences() {
    return rollout_metrics_
        .GetGauge("lightrl_rollout_active_sequences", "Sequences in the decoding batch.")
        ->value();
  }

  zmq::context_t context_{1};
  model::ModelConfig model_config_;
  ClusterConfig cluster_;
  MetricsRegistry metrics_, rollout_metrics_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<WeightServer> weights_;
  std::unique_ptr<Actor> actor_;
  std::unique_ptr<RolloutNode> node_;
};

TEST_P(RolloutNodeTest, NewWeightsArriveWhileAGroupIsBeingGenerated) {
  auto first = Request(1, 1000);  // Long enough to still be decoding when v2 lands.
  // Switch weights once decoding is under way.
  auto deadline = std::chrono::steady_clock::now() + milliseconds(20000);
  while (ActiveSequences() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));  // Polls the generation thread's gauge.
  }
  ASSERT_GT(ActiveSequences(), 0);
  Publish(2, 22);
  Announce(2);
  std::vector<SampleOut> samples = first.get();
  ASSERT_EQ(samples.size(), 4u);
  bool spans_both = false;
  for (const SampleOut& s : samples) {
    ASSERT_FALSE(s.tokens.empty());
    ASSERT_EQ(s.logprobs.size(), s.tokens.size());
    ASSERT_EQ(s.versions.size(), s.tokens.size());
    EXPECT_TRUE(std::is_sorted(s.versions.begin(), s.versions.end()));
    for (float lp : s.logprobs) EXPECT_LE(lp, 0.0f);
    spans_both = spans_both || (s.versions.front() == 1 && s.versions.back() == 2);
    if (GetParam() == WeightSwitch::kRequestBoundary) {
      // A group started with version 1 finishes with version 1.
      EXPECT_EQ(s.versions.back(), 1u);
    }
  }
  if (GetParam() == WeightSwitch::kMidGeneration) {
    EXPECT_TRUE(spans_both) << "no sample saw the switch: every sequence ended before it";
  }
  // The next group runs entirely on the new weights (once the node has switched).
  auto deadline2 = std::chrono::steady_clock::now() + milliseconds(20000);
  while (node_->policy_version() != 2 && std::chrono::steady_clock::now() < deadline2) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  std::vector<SampleOut> second = Request(2, 8).get();
  ASSERT_EQ(second.size(), 4u);
  for (const SampleOut& s : second) {
    for (uint32_t v : s.versions) EXPECT_EQ(v, 2u);
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, RolloutNodeTest,
                         ::testing::Values(WeightSwitch::kMidGeneration,
                                           WeightSwitch::kRequestBoundary),
                         [](const auto& info) {
                           return info.param == WeightSwitch::kMidGeneration ? "MidGeneration"
                                                                             : "RequestBoundary";
                         });

}  // namespace
}  // namespace lightrl
