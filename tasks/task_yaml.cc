#include "tasks/task_yaml.h"

#include <set>

namespace lightrl {
namespace {

Status ParseArithmetic(const ConfigNode& node, ArithmeticConfig* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"min_digits", "max_digits", "reverse_answer"}));
  RETURN_IF_ERROR(node.Optional("min_digits", &out->min_digits, 1, 18));
  RETURN_IF_ERROR(node.Optional("max_digits", &out->max_digits, 1, 18));
  return node.Optional("reverse_answer", &out->reverse_answer);
}

Status ParseCountdown(const ConfigNode& node, CountdownConfig* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"min_numbers", "max_numbers", "max_number", "max_target"}));
  RETURN_IF_ERROR(node.Optional("min_numbers", &out->min_numbers, 1, 16));
  RETURN_IF_ERROR(node.Optional("max_numbers", &out->max_numbers, 1, 16));
  RETURN_IF_ERROR(node.Optional("max_number", &out->max_number, 1, 1000000));
  return node.Optional("max_target", &out->max_target, 1, 1000000000);
}

Status ParseSorting(const ConfigNode& node, SortingConfig* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"min_length", "max_length", "max_value"}));
  RETURN_IF_ERROR(node.Optional("min_length", &out->min_length, 1, 1000));
  RETURN_IF_ERROR(node.Optional("max_length", &out->max_length, 1, 1000));
  return node.Optional("max_value", &out->max_value, 0, 1000000000);
}

Status ParseDataset(const ConfigNode& node, DatasetConfig* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"path", "on_bad_line"}));
  RETURN_IF_ERROR(node.Required("path", &out->path));
  std::string policy(BadLinePolicyName(out->on_bad_line));
  RETURN_IF_ERROR(node.OptionalChoice("on_bad_line", &policy, {"reject", "skip"}));
  out->on_bad_line = *ParseBadLinePolicy(policy);
  return Status::Ok();
}

Status ParseScoring(const ConfigNode& node, ScoringOptions* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"code_reward", "format_reward"}));
  std::string reward(CodeRewardName(out->code_reward));
  RETURN_IF_ERROR(node.OptionalChoice("code_reward", &reward, {"all_pass", "pass_fraction"}));
  out->code_reward = *ParseCodeReward(reward);
  return node.Optional("format_reward", &out->format_reward, 0.0, 1.0);
}

}  // namespace

Status ParseTaskConfig(const ConfigNode& node, TaskConfig* out) {
  RETURN_IF_ERROR(
      node.ExpectOnlyKeys({"name", "kind", "seed", "eval_fraction", "eval_size", "arithmetic",
                           "countdown", "sorting", "dataset", "scoring"}));
  RETURN_IF_ERROR(node.Required("name", &out->name));
  std::string kind;
  RETURN_IF_ERROR(node.Required("kind", &kind));
  std::optional<TaskKind> parsed = ParseTaskKind(kind);
  if (!parsed) {
    return node.Error("kind",
                      "must be addition, multiplication, countdown, sorting or dataset, "
                      "got '" +
                          kind + "'");
  }
  out->kind = *parsed;
  int64_t seed = static_cast<int64_t>(out->seed);
  RETURN_IF_ERROR(node.Optional("seed", &seed, 0, INT64_MAX));
  out->seed = static_cast<uint64_t>(seed);
  RETURN_IF_ERROR(node.Optional("eval_fraction", &out->eval_fraction, 0.0, 0.5));
  RETURN_IF_ERROR(node.Optional("eval_size", &out->eval_size, 0, int64_t{1} << 40));
  ASSIGN_OR_RETURN(ConfigNode arithmetic, node.OptionalChild("arithmetic"));
  RETURN_IF_ERROR(ParseArithmetic(arithmetic, &out->arithmetic));
  ASSIGN_OR_RETURN(ConfigNode countdown, node.OptionalChild("countdown"));
  RETURN_IF_ERROR(ParseCountdown(countdown, &out->countdown));
  ASSIGN_OR_RETURN(ConfigNode sorting, node.OptionalChild("sorting"));
  RETURN_IF_ERROR(ParseSorting(sorting, &out->sorting));
  if (out->kind == TaskKind::kDataset) {
    ASSIGN_OR_RETURN(ConfigNode dataset, node.Child("dataset"));
    RETURN_IF_ERROR(ParseDataset(dataset, &out->dataset));
  }
  ASSIGN_OR_RETURN(ConfigNode scoring, node.OptionalChild("scoring"));
  RETURN_IF_ERROR(ParseScoring(scoring, &out->scoring));
  Status valid = out->Validate();
  if (!valid.ok())
    return InvalidArgumentError(node.file() + ": " + node.path() + ": " +
                                std::string(valid.message()));
  return Status::Ok();
}

StatusOr<std::vector<TaskConfig>> ParseTaskList(const ConfigNode& root, bool required) {
  ASSIGN_OR_RETURN(std::vector<ConfigNode> nodes, root.ChildList("tasks", required));
  if (required && nodes.empty()) return root.Error("tasks", "needs at least one task");
  std::vector<TaskConfig> tasks;
  std::set<std::string> names;
  for (const ConfigNode& node : nodes) {
    TaskConfig task;
    RETURN_IF_ERROR(ParseTaskConfig(node, &task));
    if (!names.insert(task.name).second) {
      return node.Error("name", "task name '" + task.name + "' is used twice");
    }
    tasks.push_back(std::move(task));
  }
  return tasks;
}

}  // namespace lightrl
