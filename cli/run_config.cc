#include "cli/run_config.h"

#include <filesystem>
#include <sstream>

#include "tasks/task_yaml.h"

namespace lightrl {
namespace {

Status ParseEcho(const ConfigNode& node, EchoSettings* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"max_in_flight", "work_delay_ms"}));
  RETURN_IF_ERROR(node.Optional("max_in_flight", &out->max_in_flight, 1, 1 << 20));
  RETURN_IF_ERROR(node.Optional("work_delay_ms", &out->work_delay_ms, 0, 3600000));
  return Status::Ok();
}

Status ParseLauncher(const ConfigNode& node, LauncherConfig* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"placement", "echo_workers", "rollout_workers",
                                       "reward_workers", "run_dir", "metrics_port_base",
                                       "restart_backoff_ms", "max_restarts", "shutdown_grace_ms"}));
  std::string placement = "processes";
  RETURN_IF_ERROR(node.OptionalChoice("placement", &placement, {"processes", "threads"}));
  out->placement = placement == "threads" ? Placement::kThreads : Placement::kProcesses;
  RETURN_IF_ERROR(node.Optional("echo_workers", &out->echo_workers, 0, 1024));
  RETURN_IF_ERROR(node.Optional("rollout_workers", &out->rollout_workers, 0, 1024));
  RETURN_IF_ERROR(node.Optional("reward_workers", &out->reward_workers, 0, 1024));
  RETURN_IF_ERROR(node.Optional("run_dir", &out->run_dir));
  RETURN_IF_ERROR(node.Optional("metrics_port_base", &out->metrics_port_base, 0, 65000));
  RETURN_IF_ERROR(node.Optional("restart_backoff_ms", &out->restart_backoff_ms, 1, 600000));
  RETURN_IF_ERROR(node.Optional("max_restarts", &out->max_restarts, 0, 1000000));
  RETURN_IF_ERROR(node.Optional("shutdown_grace_ms", &out->shutdown_grace_ms, 1, 600000));
  return Status::Ok();
}

// learner.sft: {steps, examples_per_step, lr, task: <name of a task>}.
Status ParseSft(const ConfigNode& node, const std::vector<TaskConfig>& tasks, SftWarmStart* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"steps", "examples_per_step", "lr", "task"}));
  RETURN_IF_ERROR(node.Optional("steps", &out->steps, 0, 1 << 24));
  RETURN_IF_ERROR(node.Optional("examples_per_step", &out->examples_per_step, 1, 1 << 20));
  RETURN_IF_ERROR(node.Optional("lr", &out->lr, 0.0, 1.0));
  if (out->steps == 0) return Status::Ok();
  std::string name = tasks.front().name;
  RETURN_IF_ERROR(node.Optional("task", &name));
  for (const TaskConfig& task : tasks) {
    if (task.name == name) {
      out->task = task;
      return Status::Ok();
    }
  }
  return node.Error("task", "no task named '" + name + "' in the tasks list");
}

Status ParseTraining(const ConfigNode& root, RunConfig* config) {
  ASSIGN_OR_RETURN(config->tasks, ParseTaskList(root, true));
  ASSIGN_OR_RETURN(ConfigNode model, root.Child("model"));
  ASSIGN_OR_RETURN(ConfigNode coordinator, root.OptionalChild("coordinator"));
  ASSIGN_OR_RETURN(ConfigNode sampling, root.OptionalChild("sampling"));
  ASSIGN_OR_RETURN(ConfigNode learner, root.OptionalChild("learner"));
  ASSIGN_OR_RETURN(ConfigNode rollout, root.OptionalChild("rollout"));
  ASSIGN_OR_RETURN(ConfigNode reward, root.OptionalChild("reward"));
  config->pipeline.emplace();
  RETURN_IF_ERROR(ParsePipelineConfig(coordinator, sampling, &*config->pipeline));
  RETURN_IF_ERROR(ParseLearnerNodeConfig(learner, model, &config->learner));
  ASSIGN_OR_RETURN(ConfigNode sft, learner.OptionalChild("sft"));
  RETURN_IF_ERROR(ParseSft(sft, config->tasks, &config->learner.sft));
  RETURN_IF_ERROR(ParseRolloutNodeConfig(rollout, model, &config->rollout));
  RETURN_IF_ERROR(ParseRewardNodeConfig(reward, config->tasks, &config->reward));
  // Values that several roles must agree on come from one place.
  config->learner.cluster = config->rollout.cluster = config->reward.cluster = config->cluster;
  config->learner.trainer.temperature = config->pipeline->sampling.temperature;
  config->pipeline->checkpoint_dir = config->learner.checkpoint_dir;
  return Status::Ok();
}

}  // namespace

StatusOr<RunConfig> LoadRunConfig(const std::string& path,
                                  const std::vector<std::string>& overrides) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path, overrides));
  RETURN_IF_ERROR(root.ExpectOnlyKeys({"cluster", "launcher", "smoke", "echo", "model", "tasks",
                                       "sampling", "coordinator", "learner", "rollout", "reward"}));
  RunConfig config;
  config.path = path;
  ASSIGN_OR_RETURN(ConfigNode cluster, root.OptionalChild("cluster"));
  RETURN_IF_ERROR(ParseClusterConfig(cluster, &config.cluster));
  if (root.Has("smoke")) {
    ASSIGN_OR_RETURN(ConfigNode smoke, root.Child("smoke"));
    config.smoke.emplace();
    RETURN_IF_ERROR(ParseEchoProbeConfig(smoke, &*config.smoke));
  }
  ASSIGN_OR_RETURN(ConfigNode echo, root.OptionalChild("echo"));
  RETURN_IF_ERROR(ParseEcho(echo, &config.echo));
  ASSIGN_OR_RETURN(ConfigNode launcher, root.OptionalChild("launcher"));
  RETURN_IF_ERROR(ParseLauncher(launcher, &config.launcher));
  if (config.launcher.run_dir.empty()) {
    config.launcher.run_dir = "runs/" + std::filesystem::path(path).stem().string();
  }
  if (root.Has("tasks")) {
    if (config.smoke) return root.Error("smoke", "a run is either a smoke cluster or training");
    if (config.cluster.activity_dir.empty()) config.cluster.activity_dir = config.launcher.run_dir;
    RETURN_IF_ERROR(ParseTraining(root, &config));
  } else if (!config.smoke) {
    return root.Error("tasks", "a run needs `tasks` (training) or `smoke` (the smoke cluster)");
  }
  return config;
}

std::vector<std::string> SplitOverrides(const std::string& flag_value) {
  std::vector<std::string> out;
  std::stringstream stream(flag_value);
  for (std::string item; std::getline(stream, item, ';');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace lightrl
