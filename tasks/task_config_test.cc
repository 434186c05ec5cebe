#include "tasks/task_config.h"

#include <gtest/gtest.h>

#include <string>

namespace lightrl {
namespace {

TaskConfig Valid(TaskKind kind) {
  TaskConfig config;
  config.name = "t1";
  config.kind = kind;
  config.dataset.path = "x.jsonl";
  return config;
}

void ExpectInvalid(const TaskConfig& config, const std::string& fragment) {
  Status status = config.Validate();
  ASSERT_FALSE(status.ok()) << "expected an error containing: " << fragment;
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(status.message()).find(fragment), std::string::npos) << status.message();
}

TEST(TaskConfigTest, DefaultsAreValidForEveryKind) {
  for (TaskKind kind : {TaskKind::kAddition, TaskKind::kMultiplication, TaskKind::kCountdown,
                        TaskKind::kSorting, TaskKind::kDataset}) {
    EXPECT_TRUE(Valid(kind).Validate().ok()) << TaskKindName(kind);
  }
}

TEST(TaskConfigTest, ErrorsNameTaskAndField) {
  TaskConfig c = Valid(TaskKind::kAddition);
  c.name = "";
  ExpectInvalid(c, "task name ''");
  c = Valid(TaskKind::kAddition);
  c.name = "a b";
  ExpectInvalid(c, "task name 'a b'");

  c = Valid(TaskKind::kAddition);
  c.arithmetic.max_digits = 20;
  ExpectInvalid(c, "task 't1': arithmetic.max_digits must be in [1, 18]");
  c = Valid(TaskKind::kMultiplication);
  c.arithmetic.max_digits = 10;
  ExpectInvalid(c,
                "arithmetic.max_digits must be in [1, 9] (from min_digits) for "
                "multiplication, got 10");
  c = Valid(TaskKind::kAddition);
  c.arithmetic.min_digits = 4;
  ExpectInvalid(c, "arithmetic.max_digits must be in [4, 18]");

  c = Valid(TaskKind::kCountdown);
  c.countdown.min_numbers = 1;
  ExpectInvalid(c, "countdown.min_numbers");
  c = Valid(TaskKind::kCountdown);
  c.countdown.max_number = 0;
  ExpectInvalid(c, "countdown.max_number");

  c = Valid(TaskKind::kSorting);
  c.sorting.max_length = 100;
  ExpectInvalid(c, "sorting.max_length");

  c = Valid(TaskKind::kDataset);
  c.dataset.path = "";
  ExpectInvalid(c, "dataset.path must be set");

  c = Valid(TaskKind::kSorting);
  c.eval_fraction = 0.9;
  ExpectInvalid(c, "eval_fraction must be in [0, 0.5]");
  c = Valid(TaskKind::kSorting);
  c.eval_size = -1;
  ExpectInvalid(c, "eval_size");

  c = Valid(TaskKind::kSorting);
  c.scoring.format_reward = 1.0;
  ExpectInvalid(c, "task 't1': scoring.format_reward must be in [0, 1)");
}

TEST(TaskConfigTest, OnlyTheKindsSubConfigIsChecked) {
  TaskConfig c = Valid(TaskKind::kSorting);
  c.arithmetic.max_digits = 100;
  EXPECT_TRUE(c.Validate().ok());
}

TEST(TaskConfigTest, EnumNamesRoundTrip) {
  EXPECT_EQ(ParseTaskKind("countdown"), TaskKind::kCountdown);
  EXPECT_EQ(TaskKindName(TaskKind::kMultiplication), "multiplication");
  EXPECT_FALSE(ParseTaskKind("Countdown").has_value());
  EXPECT_EQ(ParseBadLinePolicy("skip"), BadLinePolicy::kSkip);
  EXPECT_EQ(BadLinePolicyName(BadLinePolicy::kReject), "reject");
  EXPECT_EQ(ParseCodeReward("pass_fraction"), CodeReward::kPassFraction);
  EXPECT_EQ(CodeRewardName(CodeReward::kAllPass), "all_pass");
  EXPECT_FALSE(ParseCodeReward("fraction").has_value());
}

}  // namespace
}  // namespace lightrl
