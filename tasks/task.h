// Tasks: deterministic sources of prompts and references.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Task> task, MakeTask(config));
//   ASSIGN_OR_RETURN(TaskItem item, task->Item(Split::kTrain, 17));
//   // send (task->name(), 17, item.reference_json) with the prompt to a rollout actor
//
// Thread-safety: a Task is immutable after MakeTask returns; every method may be called
// concurrently from any thread.
#ifndef LIGHTRL_TASKS_TASK_H_
#define LIGHTRL_TASKS_TASK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tasks/task_config.h"

namespace lightrl {

enum class Split { kTrain, kEval };
std::string_view SplitName(Split split);  // "train", "eval"

struct TaskItem {
  // Compact plain text, e.g. "37+85=".
  std::string prompt;
  // A valid reference (tasks/reference.h) as JSON.
  std::string reference_json;
  // A completion the verifier accepts, when the task knows one (built-in tasks always;
  // datasets when the line has "solution"); empty otherwise.
  std::string solution;
};

// Size of a split that has no end (the train split of generated tasks).
inline constexpr int64_t kUnboundedSize = -1;

class Task {
 public:
  explicit Task(std::string name) : name_(std::move(name)) {}
  virtual ~Task() = default;
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  const std::string& name() const { return name_; }

  // Number of items in `split`, or kUnboundedSize.
  virtual int64_t Size(Split split) const = 0;

  // The item at `index` of `split`. Deterministic: the same config, split and index give
  // the same item in every process and on every machine. No prompt of the eval split
  // appears in the train split. OutOfRangeError when index < 0 or index >= Size(split).
  virtual StatusOr<TaskItem> Item(Split split, int64_t index) const = 0;

 protected:
  // OutOfRangeError unless 0 <= index < Size(split) (or the split is unbounded).
  Status CheckIndex(Split split, int64_t index) const;

 private:
  std::string name_;
};

// Validates `config` and builds its task; dataset tasks read their file here (NotFoundError
// when it cannot be opened, InvalidArgumentError with file:line for a bad line under
// BadLinePolicy::kReject or for a file without valid items).
StatusOr<std::unique_ptr<Task>> MakeTask(const TaskConfig& config);

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_TASK_H_
