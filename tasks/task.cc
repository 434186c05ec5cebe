#include "tasks/task.h"

#include "tasks/dataset_task.h"
#include "tasks/generated_tasks.h"

namespace lightrl {

std::string_view SplitName(Split split) { return split == Split::kTrain ? "train" : "eval"; }

Status Task::CheckIndex(Split split, int64_t index) const {
  int64_t size = Size(split);
  if (index < 0 || (size != kUnboundedSize && index >= size)) {
    return OutOfRangeError("task '" + name_ + "': " + std::string(SplitName(split)) + " index " +
                           std::to_string(index) + " out of range (size " +
                           (size == kUnboundedSize ? "unbounded" : std::to_string(size)) + ")");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Task>> MakeTask(const TaskConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  if (config.kind == TaskKind::kDataset) {
    ASSIGN_OR_RETURN(std::unique_ptr<DatasetTask> task, DatasetTask::Load(config));
    return std::unique_ptr<Task>(std::move(task));
  }
  return MakeGeneratedTask(config);
}

}  // namespace lightrl
