// Typed configuration of tasks and of their scoring.
//
// Plain structs with defaults; the integrator fills them from YAML. Validate() returns
// InvalidArgumentError naming the task and the field ("task 'add': arithmetic.max_digits
// must be in [1, 18] for addition, got 20"). Only the sub-config of the task's kind is
// checked and used.
#ifndef LIGHTRL_TASKS_TASK_CONFIG_H_
#define LIGHTRL_TASKS_TASK_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace lightrl {

enum class TaskKind { kAddition, kMultiplication, kCountdown, kSorting, kDataset };

// "addition", "multiplication", "countdown", "sorting", "dataset".
std::string_view TaskKindName(TaskKind kind);
std::optional<TaskKind> ParseTaskKind(std::string_view name);

// Addition and multiplication: each operand has a digit count drawn uniformly from
// [min_digits, max_digits] (1-digit operands include 0).
struct ArithmeticConfig {
  int min_digits = 1;
  int max_digits = 3;
  // Write the answer's digits least significant first ("37+85=" → "221"), the order in which
  // the carries are computed: far easier for a small model. Verified as text, so "08" for 80
  // must keep its zero.
  bool reverse_answer = false;
};

// Countdown: `count` numbers drawn from [1, max_number], count uniform in
// [min_numbers, max_numbers]; the target is the value of a random expression using all of
// them (intermediate values positive integers), redrawn until it lies in [1, max_target].
struct CountdownConfig {
  int min_numbers = 3;
  int max_numbers = 4;
  int max_number = 25;
  int max_target = 200;
};

// Sorting: a list of length uniform in [min_length, max_length], values in [0, max_value].
struct SortingConfig {
  int min_length = 3;
  int max_length = 6;
  int max_value = 99;
};

enum class BadLinePolicy {
  kReject,  // MakeTask fails with the first bad line's file:line and reason.
  kSkip,    // Bad lines are logged with file:line and left out.
};
std::string_view BadLinePolicyName(BadLinePolicy policy);
std::optional<BadLinePolicy> ParseBadLinePolicy(std::string_view name);

// A JSONL file; fields in docs/tasks.md.
struct DatasetConfig {
  std::string path;
  BadLinePolicy on_bad_line = BadLinePolicy::kReject;
};

enum class CodeReward {
  kAllPass,       // 1 when every test passes, else 0.
  kPassFraction,  // passed / total tests.
};
std::string_view CodeRewardName(CodeReward reward);
std::optional<CodeReward> ParseCodeReward(std::string_view name);

// How the reward worker turns a verification into a reward for one task.
struct ScoringOptions {
  CodeReward code_reward = CodeReward::kAllPass;
  // Given instead of a lower score to a completion whose answer could be extracted (every
  // verdict except format_error, sandbox_error and invalid_reference). 0 turns it off.
  double format_reward = 0.0;

  Status Validate() const;
};

struct TaskConfig {
  // Unique within a run; carried in messages and used to pick ScoringOptions.
  // Letters, digits, '_', '-', '.'; 1 to 64 characters.
  std::string name;
  TaskKind kind = TaskKind::kAddition;
  uint64_t seed = 1;
  // Share of prompts held out for evaluation, in [0, 0.5]. A prompt belongs to the eval
  // split when a hash of its text falls below this share, so the splits never share a
  // prompt (for generated and dataset tasks alike).
  double eval_fraction = 0.1;
  // Generated tasks: number of eval items (the train split is unbounded).
  int64_t eval_size = 256;

  ArithmeticConfig arithmetic;
  CountdownConfig countdown;
  SortingConfig sorting;
  DatasetConfig dataset;
  ScoringOptions scoring;

  Status Validate() const;
};

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_TASK_CONFIG_H_
