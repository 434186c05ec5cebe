// The rollout node against a stand-in coordinator and weight server in this process: a real
// RolloutNode (its own actor and generation thread) over real sockets.
#include "rollout/rollout_node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/util/subprocess.h"
#include "tests/util/test_coordinator.h"

namespace lightrl {
namespace {

using std::chrono::milliseconds;

// The node against a stand-in coordinator and weight server (tests/util/test_coordinator.h).
class RolloutNodeTest : public ::testing::TestWithParam<WeightSwitch> {
 protected:
  void SetUp() override {
    ClusterConfig cluster;
    cluster.coordinator_endpoint = "inproc://rollout-test";
    cluster.heartbeat_interval_ms = 50;
    cluster.dead_after_ms = 1000;
    auto coordinator = testing::TestCoordinator::Start(context_, cluster);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    coordinator_ = std::move(*coordinator);
    coordinator_->Publish(1, 11);
    RolloutNodeConfig config;
    config.worker_id = "rollout-t";
    config.cluster = cluster;
    config.model_config = testing::SourcePath("tests/configs/tiny_model.json");
    config.weight_switch = GetParam();
    auto node = RolloutNode::Start(context_, config, &rollout_metrics_);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
    ASSERT_TRUE(coordinator_->WaitFor(
        [](Coordinator& c) { return c.registry().Find("rollout-t") != nullptr; }));
    coordinator_->Announce("rollout-t", 1);
    // Credits show that the node holds weights and takes work.
    ASSERT_TRUE(coordinator_->WaitFor(
        [](Coordinator& c) { return c.registry().Credits("rollout-t") > 0; }));
  }

  void TearDown() override {
    node_.reset();
    coordinator_.reset();
  }

  std::future<std::vector<Sample>> Request(uint64_t group, int max_tokens) {
    return coordinator_->Generate("rollout-t", group, {256, '1', '+', '2', '='}, 4, max_tokens);
  }

  double ActiveSequences() {
    return rollout_metrics_
        .GetGauge("lightrl_rollout_active_sequences", "Sequences in the decoding batch.")
        ->value();
  }

  zmq::context_t context_{1};
  MetricsRegistry rollout_metrics_;
  std::unique_ptr<testing::TestCoordinator> coordinator_;
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
  coordinator_->Publish(2, 22);
  coordinator_->Announce("rollout-t", 2);
  std::vector<Sample> samples = first.get();
  ASSERT_EQ(samples.size(), 4u);
  bool spans_both = false;
  for (const Sample& s : samples) {
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
  std::vector<Sample> second = Request(2, 8).get();
  ASSERT_EQ(second.size(), 4u);
  for (const Sample& s : second) {
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
