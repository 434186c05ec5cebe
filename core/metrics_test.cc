#include "core/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, SameNameAndLabelsReturnSameObject) {
  MetricsRegistry registry;
  Counter* a = registry.GetCounter("x_total", "help", {{"role", "a"}});
  Counter* b = registry.GetCounter("x_total", "help", {{"role", "a"}});
  Counter* c = registry.GetCounter("x_total", "help", {{"role", "c"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(MetricsTest, RendersCountersGaugesAndHistograms) {
  MetricsRegistry registry;
  registry.GetCounter("lightrl_frames_total", "Frames received.", {{"kind", "rollout"}})
      ->Increment(3);
  registry.GetGauge("lightrl_queue_depth", "Items queued.")->Set(7);
  Histogram* h = registry.GetHistogram("lightrl_latency_seconds", "Latency.", {0.1, 1.0});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(5);
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE lightrl_frames_total counter\n"));
  EXPECT_THAT(text, HasSubstr("lightrl_frames_total{kind=\"rollout\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("lightrl_queue_depth 7\n"));
  EXPECT_THAT(text, HasSubstr("lightrl_latency_seconds_bucket{le=\"0.10000000000000001\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lightrl_latency_seconds_bucket{le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("lightrl_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("lightrl_latency_seconds_sum 5.5499999999999998\n"));
  EXPECT_THAT(text, HasSubstr("lightrl_latency_seconds_count 3\n"));
}

TEST(MetricsTest, EscapesLabelValues) {
  MetricsRegistry registry;
  registry.GetGauge("g", "help", {{"path", "a\"b\\c\nd"}})->Set(1);
  EXPECT_THAT(registry.Render(), HasSubstr("g{path=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(MetricsTest, CollectorsRunBeforeRendering) {
  MetricsRegistry registry;
  Gauge* g = registry.GetGauge("mirrored", "help");
  int calls = 0;
  registry.AddCollector([&] { g->Set(++calls); });
  EXPECT_THAT(registry.Render(), HasSubstr("mirrored 1\n"));
  EXPECT_THAT(registry.Render(), HasSubstr("mirrored 2\n"));
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry registry;
  Counter* c = registry.GetCounter("n_total", "help");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([c] {
      for (int i = 0; i < 10000; ++i) c->Increment();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 40000);
}

TEST(MetricsDeathTest, MisuseDies) {
  MetricsRegistry registry;
  EXPECT_DEATH(registry.GetCounter("no_suffix", "h"), "must end in _total");
  EXPECT_DEATH(registry.GetGauge("bad-name", "h"), "invalid metric name");
  registry.GetGauge("taken_total", "h");
  EXPECT_DEATH(registry.GetCounter("taken_total", "h"), "re-registered");
  EXPECT_DEATH(registry.GetCounter("c_total", "h")->Increment(-1), "non-negative");
}

// promtool (Debian package prometheus, installed by scripts/setup) is the judge of the format.
TEST(MetricsTest, OutputPassesPromtool) {
  MetricsRegistry registry;
  registry.GetCounter("lightrl_messages_total", "Messages by kind.", {{"kind", "a\"b"}})
      ->Increment(2);
  registry.GetCounter("lightrl_messages_total", "Messages by kind.", {{"kind", "c"}});
  registry.GetGauge("lightrl_policy_version", "Current policy version.")->Set(12);
  Histogram* h = registry.GetHistogram("lightrl_step_seconds", "Step time.",
                                       ExponentialBuckets(0.001, 2, 12), {{"role", "learner"}});
  for (int i = 0; i < 100; ++i) h->Observe(i * 0.003);
  auto result = testing::RunCommand("promtool check metrics", registry.Render());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->output;
}

}  // namespace
}  // namespace lightrl
