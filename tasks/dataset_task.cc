#include "tasks/dataset_task.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/logging.h"
#include "tasks/item_rng.h"
#include "tasks/reference.h"

namespace lightrl {
namespace {

using nlohmann::json;

StatusOr<TaskItem> ParseLine(const std::string& line) {
  json object = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return InvalidArgumentError("not valid JSON");
  if (!object.is_object()) return InvalidArgumentError("not a JSON object");
  auto prompt = object.find("prompt");
  if (prompt == object.end()) return InvalidArgumentError("field 'prompt' is missing");
  if (!prompt->is_string() || prompt->get<std::string>().empty()) {
    return InvalidArgumentError("field 'prompt' must be a non-empty string");
  }
  TaskItem item;
  item.prompt = prompt->get<std::string>();
  if (auto solution = object.find("solution"); solution != object.end()) {
    if (!solution->is_string()) return InvalidArgumentError("field 'solution' must be a string");
    item.solution = solution->get<std::string>();
  }
  ASSIGN_OR_RETURN(Reference ref, ReferenceFromJson(object, {"prompt", "solution", "id", "meta"},
                                                    /*infer_verifier=*/true));
  item.reference_json = SerializeReference(ref);
  return item;
}

}  // namespace

StatusOr<std::unique_ptr<DatasetTask>> DatasetTask::Load(const TaskConfig& config) {
  const std::string& path = config.dataset.path;
  std::ifstream in(path);
  if (!in) {
    return NotFoundError("task '" + config.name + "': cannot open dataset '" + path +
                         "': " + std::strerror(errno));
  }
  std::unique_ptr<DatasetTask> task(new DatasetTask(config.name));
  std::string line;
  for (int64_t line_number = 1; std::getline(in, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    StatusOr<TaskItem> item = ParseLine(line);
    if (!item.ok()) {
      std::string where = path + ":" + std::to_string(line_number) + ": ";
      std::string message = where + std::string(item.status().message());
      if (config.dataset.on_bad_line == BadLinePolicy::kReject) {
        return InvalidArgumentError("task '" + config.name + "': " + message);
      }
      LOG(WARNING) << "task '" << config.name << "': skipping " << message;
      task->skipped_lines_.push_back(std::move(message));
      continue;
    }
    bool eval = IsEvalPrompt(item->prompt, config.eval_fraction);
    (eval ? task->eval_ : task->train_).push_back(std::move(*item));
  }
  if (in.bad()) {
    return DataLossError("task '" + config.name + "': read error in '" + path + "'");
  }
  if (task->train_.empty() && task->eval_.empty()) {
    return InvalidArgumentError("task '" + config.name + "': dataset '" + path +
                                "' has no valid items");
  }
  return task;
}

int64_t DatasetTask::Size(Split split) const {
  return static_cast<int64_t>(split == Split::kTrain ? train_.size() : eval_.size());
}

StatusOr<TaskItem> DatasetTask::Item(Split split, int64_t index) const {
  RETURN_IF_ERROR(CheckIndex(split, index));
  return (split == Split::kTrain ? train_ : eval_)[static_cast<size_t>(index)];
}

}  // namespace lightrl
