#include "core/activity_log.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

WallClock::time_point At(double seconds) {
  return WallClock::time_point(
      std::chrono::duration_cast<WallClock::duration>(std::chrono::duration<double>(seconds)));
}

TEST(CoveredSecondsTest, CountsTheUnionClippedToTheWindow) {
  // [1,3] and [2,4] overlap (union 3 s), [6,7] is apart, [9,12] is cut by the window at 10.
  std::vector<BusyInterval> busy = {{6, 7}, {2, 4}, {1, 3}, {9, 12}, {-5, -1}};
  EXPECT_DOUBLE_EQ(CoveredSeconds(busy, {0, 10}), 3 + 1 + 1);
  EXPECT_DOUBLE_EQ(CoveredSeconds(busy, {2.5, 6.5}), 1.5 + 0.5);
  EXPECT_DOUBLE_EQ(CoveredSeconds({}, {0, 10}), 0);
  EXPECT_DOUBLE_EQ(CoveredSeconds({{0, 1}, {1, 2}}, {0, 10}), 2);  // Touching pieces.
}

TEST(ActivityLogTest, MergesCloseIntervalsAndReadsThemBackByActivity) {
  const std::string dir = testing::MakeTempDir("activity");
  {
    ActivityLog gen(ActivityLogPath(dir, "rollout-0"), "rollout-0", "generating");
    ActivityLog train(ActivityLogPath(dir, "learner"), "learner", "training");
    gen.Record(At(100.0), At(100.5));
    gen.Record(At(100.5001), At(101.0));  // 100 µs later: merged with the first.
    gen.Record(At(103.0), At(104.0));     // A real gap: a second line.
    train.Record(At(101.0), At(103.5));
  }
  std::ofstream(ActivityLogPath(dir, "reward-0")) << "{\"kind\":\"busy\",\"start\":1";  // Cut off.
  std::ofstream(dir + "/unrelated.jsonl") << "not json\n";
  int skipped = -1;
  auto logs = ReadActivityLogs(dir, &skipped);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(skipped, 1);
  ASSERT_EQ(logs->count("generating"), 1u);
  const auto& gen = logs->at("generating");
  ASSERT_EQ(gen.size(), 2u);
  EXPECT_NEAR(gen[0].start, 100.0, 1e-6);
  EXPECT_NEAR(gen[0].end, 101.0, 1e-6);
  EXPECT_NEAR(gen[1].start, 103.0, 1e-6);
  ASSERT_EQ(logs->at("training").size(), 1u);
  std::vector<BusyInterval> all = gen;
  all.push_back(logs->at("training")[0]);
  EXPECT_NEAR(CoveredSeconds(all, {100, 105}), 4.0, 1e-6);  // Idle only in [104, 105].
}

TEST(TimeBudgetTest, SharesOfTheWindowByActivityAndOverall) {
  const std::string dir = testing::MakeTempDir("budget");
  {
    ActivityLog gen0(ActivityLogPath(dir, "rollout-0"), "rollout-0", "generating");
    ActivityLog gen1(ActivityLogPath(dir, "rollout-1"), "rollout-1", "generating");
    ActivityLog train(ActivityLogPath(dir, "learner"), "learner", "training");
    gen0.Record(At(0), At(4));
    gen1.Record(At(2), At(6));  // Two workers at once count once.
    train.Record(At(5), At(8));
  }
  auto budget = MeasureTimeBudget(dir, {0, 10});
  ASSERT_TRUE(budget.ok()) << budget.status();
  EXPECT_DOUBLE_EQ(budget->wall_seconds, 10);
  EXPECT_NEAR(budget->busy_seconds.at("generating"), 6, 1e-6);
  EXPECT_NEAR(budget->busy_seconds.at("training"), 3, 1e-6);
  EXPECT_NEAR(budget->any_seconds, 8, 1e-6);
  EXPECT_NEAR(budget->overhead_share(), 0.2, 1e-6);
  EXPECT_EQ(budget->ToString(), "10.0 s: generating 60.0%, training 30.0%; none of them 20.0%");
}

TEST(ActivityLogTest, EmptyPathRecordsNothingAndMissingFolderIsAnError) {
  ActivityLog off("", "w", "generating");
  off.Record(At(1), At(2));
  EXPECT_EQ(ActivityLogPath("", "w"), "");
  int skipped = 0;
  auto logs = ReadActivityLogs("/nonexistent/lightrl-activity", &skipped);
  ASSERT_FALSE(logs.ok());
  EXPECT_NE(logs.status().ToString().find("/nonexistent/lightrl-activity"), std::string::npos);
}

}  // namespace
}  // namespace lightrl
