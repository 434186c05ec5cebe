// Dataset tasks: items read from a JSONL file.
//
// Each non-blank line is one JSON object: "prompt" (required, non-empty string), the
// reference fields of tasks/reference.h ("verifier", "answer", "numbers", "target",
// "expected", "language", "tests", "test_script", "time_limit_ms", "memory_limit_mb"),
// and optionally "solution" (a completion the verifier accepts), "id" and "meta" (any
// JSON, ignored). Without "verifier" a line with "tests" or "test_script" is "code",
// otherwise "exact". Every other key is an error, so a misspelled field is caught.
// Lines are split by prompt hash (IsEvalPrompt) into train and eval, keeping file order.
#ifndef LIGHTRL_TASKS_DATASET_TASK_H_
#define LIGHTRL_TASKS_DATASET_TASK_H_

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "tasks/task.h"
#include "tasks/task_config.h"

namespace lightrl {

class DatasetTask : public Task {
 public:
  // Reads config.dataset.path. NotFoundError when the file cannot be opened;
  // InvalidArgumentError "path:line: reason" for the first bad line under kReject; under
  // kSkip bad lines are logged and listed in skipped_lines(). InvalidArgumentError when no
  // line is valid. `config` must be valid and of kind kDataset.
  static StatusOr<std::unique_ptr<DatasetTask>> Load(const TaskConfig& config);

  int64_t Size(Split split) const override;
  StatusOr<TaskItem> Item(Split split, int64_t index) const override;

  // "path:line: reason" for each line left out under BadLinePolicy::kSkip.
  const std::vector<std::string>& skipped_lines() const { return skipped_lines_; }

 private:
  explicit DatasetTask(std::string name) : Task(std::move(name)) {}

  std::vector<TaskItem> train_;
  std::vector<TaskItem> eval_;
  std::vector<std::string> skipped_lines_;
};

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_DATASET_TASK_H_
