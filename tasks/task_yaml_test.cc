#include "tasks/task_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lightrl {
namespace {

using ::testing::HasSubstr;

TEST(TaskYamlTest, ReadsEveryKindOfTask) {
  auto root = ConfigNode::LoadString(R"(
tasks:
  - name: add
    kind: addition
    arithmetic: {min_digits: 2, max_digits: 3}
  - name: cd
    kind: countdown
    seed: 9
    countdown: {min_numbers: 3, max_numbers: 3, max_target: 50}
  - name: data
    kind: dataset
    dataset: {path: /data/x.jsonl, on_bad_line: skip}
    scoring: {code_reward: pass_fraction, format_reward: 0.1}
)",
                                     "run.yaml");
  ASSERT_TRUE(root.ok());
  auto tasks = ParseTaskList(*root, true);
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_EQ(tasks->size(), 3u);
  EXPECT_EQ((*tasks)[0].kind, TaskKind::kAddition);
  EXPECT_EQ((*tasks)[0].arithmetic.min_digits, 2);
  EXPECT_EQ((*tasks)[1].seed, 9u);
  EXPECT_EQ((*tasks)[1].countdown.max_target, 50);
  EXPECT_EQ((*tasks)[2].dataset.on_bad_line, BadLinePolicy::kSkip);
  EXPECT_EQ((*tasks)[2].scoring.code_reward, CodeReward::kPassFraction);
  EXPECT_DOUBLE_EQ((*tasks)[2].scoring.format_reward, 0.1);
}

TEST(TaskYamlTest, ErrorsNameFileKeyAndReason) {
  auto kind = ConfigNode::LoadString("tasks:\n  - name: a\n    kind: poetry\n", "run.yaml");
  EXPECT_THAT(std::string(ParseTaskList(*kind, true).status().message()),
              HasSubstr("run.yaml: tasks[0].kind: must be addition"));
  auto twice = ConfigNode::LoadString(
      "tasks:\n  - {name: a, kind: sorting}\n  - {name: a, kind: sorting}\n", "run.yaml");
  EXPECT_THAT(std::string(ParseTaskList(*twice, true).status().message()),
              HasSubstr("tasks[1].name: task name 'a' is used twice"));
  auto invalid = ConfigNode::LoadString(
      "tasks:\n  - name: a\n    kind: addition\n    arithmetic: {min_digits: 5, max_digits: 2}\n",
      "run.yaml");
  EXPECT_THAT(std::string(ParseTaskList(*invalid, true).status().message()),
              HasSubstr("run.yaml: tasks[0]: "));
  auto none = ConfigNode::LoadString("cluster: {}\n", "run.yaml");
  EXPECT_THAT(std::string(ParseTaskList(*none, true).status().message()),
              HasSubstr("run.yaml: tasks: required list is missing"));
  auto missing_path = ConfigNode::LoadString("tasks:\n  - {name: d, kind: dataset}\n", "run.yaml");
  EXPECT_THAT(std::string(ParseTaskList(*missing_path, true).status().message()),
              HasSubstr("tasks[0].dataset: required section is missing"));
}

}  // namespace
}  // namespace lightrl
