#include "reward/scorer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sandbox/sandbox_test_util.h"
#include "tasks/task.h"

namespace lightrl {
namespace {

constexpr char kAddRef[] = R"({"verifier":"exact","answer":"122"})";
constexpr char kCodeRef[] =
    R"({"verifier":"code","language":"python","tests":[{"stdin":"1 2\n","stdout":"3\n"},{"stdin":"2 2\n","stdout":"4\n"},{"stdin":"3 3\n","stdout":"6\n"}]})";
// Right for the first two cases, wrong for the third.
constexpr char kTwoOfThree[] =
    "```python\na, b = map(int, input().split())\nprint(a + b if a < 3 else 0)\n```";

TEST(ScorerRuleTest, ScoresRuleReferencesWithoutASandbox) {
  Scorer scorer(ScorerConfig(), nullptr);
  ScoreResult r = scorer.Score("add", kAddRef, "122");
  EXPECT_EQ(r.verdict, Verdict::kCorrect);
  EXPECT_EQ(r.score, 1.0);
  r = scorer.Score("add", kAddRef, "121");
  EXPECT_EQ(r.verdict, Verdict::kIncorrect);
  EXPECT_EQ(r.score, 0.0);
  EXPECT_EQ(r.details, "expected 122, got 121");
  EXPECT_EQ(scorer.Score("add", kAddRef, "abc").verdict, Verdict::kFormatError);
}

TEST(ScorerRuleTest, MachineryFailuresAreVerdictsWithZeroScore) {
  ScorerConfig config;
  config.default_scoring.format_reward = 0.2;
  Scorer scorer(config, nullptr);
  ScoreResult bad = scorer.Score("add", "{not json", "122");
  EXPECT_EQ(bad.verdict, Verdict::kInvalidReference);
  EXPECT_EQ(bad.score, 0.0);
  bad = scorer.Score("add", R"({"verifier":"exact"})", "122");
  EXPECT_EQ(bad.verdict, Verdict::kInvalidReference);
  EXPECT_NE(bad.details.find("'answer' is missing"), std::string::npos);
  ScoreResult no_sandbox = scorer.Score("code", kCodeRef, "print(3)");
  EXPECT_EQ(no_sandbox.verdict, Verdict::kSandboxError);
  EXPECT_EQ(no_sandbox.score, 0.0);
}

TEST(ScorerRuleTest, FormatRewardIsPerTask) {
  ScorerConfig config;
  config.default_scoring.format_reward = 0.1;
  config.task_scoring["strict"].format_reward = 0.0;
  ASSERT_TRUE(config.Validate().ok());
  Scorer scorer(config, nullptr);
  EXPECT_DOUBLE_EQ(scorer.Score("add", kAddRef, "121").score, 0.1);
  EXPECT_DOUBLE_EQ(scorer.Score("add", kAddRef, "122").score, 1.0);
  EXPECT_DOUBLE_EQ(scorer.Score("add", kAddRef, "x").score, 0.0);
  EXPECT_DOUBLE_EQ(scorer.Score("strict", kAddRef, "121").score, 0.0);
}

TEST(ScorerRuleTest, ConfigErrorsNameTheTask) {
  ScorerConfig config;
  config.task_scoring["t"].format_reward = 2;
  Status s = config.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("task_scoring['t']"), std::string::npos) << s;
}

TEST(ScorerRuleTest, ScoresEveryGeneratedTaskItsOwnSolution) {
  Scorer scorer(ScorerConfig(), nullptr);
  for (TaskKind kind :
       {TaskKind::kAddition, TaskKind::kMultiplication, TaskKind::kCountdown, TaskKind::kSorting}) {
    TaskConfig config;
    config.name = "t";
    config.kind = kind;
    std::unique_ptr<Task> task = std::move(MakeTask(config)).value();
    for (int i = 0; i < 20; ++i) {
      TaskItem item = std::move(task->Item(Split::kTrain, i)).value();
      EXPECT_EQ(scorer.Score("t", item.reference_json, item.solution).verdict, Verdict::kCorrect)
          << item.prompt;
    }
  }
}

class ScorerCodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox_ = CreateOrFail(SmallSandboxConfig(2));
    ASSERT_NE(sandbox_, nullptr);
    config_.code.run_limits = sandbox_->config().default_limits;
    config_.task_scoring["fraction"].code_reward = CodeReward::kPassFraction;
    config_.task_scoring["formatted"].format_reward = 0.25;
  }
  void TearDown() override { DestroyAndCheckClean(std::move(sandbox_)); }

  std::unique_ptr<Sandbox> sandbox_;
  ScorerConfig config_;
};

TEST_F(ScorerCodeTest, AllPassAndPassFraction) {
  Scorer scorer(config_, sandbox_.get());
  ScoreResult all = scorer.Score("code", kCodeRef, kTwoOfThree);
  EXPECT_EQ(all.verdict, Verdict::kIncorrect) << all.details;
  EXPECT_EQ(all.score, 0.0);
  ScoreResult fraction = scorer.Score("fraction", kCodeRef, kTwoOfThree);
  EXPECT_EQ(fraction.verdict, Verdict::kIncorrect);
  EXPECT_DOUBLE_EQ(fraction.score, 2.0 / 3.0);
  EXPECT_EQ(fraction.tests_passed, 2);
  EXPECT_EQ(fraction.tests_total, 3);
  ScoreResult right =
      scorer.Score("fraction", kCodeRef, "a, b = map(int, input().split())\nprint(a + b)\n");
  EXPECT_EQ(right.verdict, Verdict::kCorrect);
  EXPECT_EQ(right.score, 1.0);
  EXPECT_EQ(right.details, "all 3 tests passed");
}

TEST_F(ScorerCodeTest, FormatErrorsAndFormatReward) {
  Scorer scorer(config_, sandbox_.get());
  EXPECT_EQ(scorer.Score("code", kCodeRef, "```python\nprint(1)\n").verdict, Verdict::kFormatError);
  EXPECT_EQ(scorer.Score("formatted", kCodeRef, "   ").score, 0.0);
  ScoreResult wrong = scorer.Score("formatted", kCodeRef, "print(0)");
  EXPECT_EQ(wrong.verdict, Verdict::kIncorrect);
  EXPECT_DOUBLE_EQ(wrong.score, 0.25);
}

TEST_F(ScorerCodeTest, ConcurrentScoringFromManyThreads) {
  Scorer scorer(config_, sandbox_.get());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        bool code = (t + i) % 2 == 0;
        ScoreResult r = code ? scorer.Score("code", kCodeRef,
                                            "a, b = map(int, input().split())\nprint(a + b)\n")
                             : scorer.Score("add", kAddRef, "122");
        if (r.verdict != Verdict::kCorrect || r.score != 1.0) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace lightrl
