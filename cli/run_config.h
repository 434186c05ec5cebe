// The run config: one YAML file describing a whole run. Every process of the run reads the
// same file; each uses the sections it needs. Unknown sections and keys are errors.
//
//   cluster:      ClusterConfig (actors/cluster_config.h)
//   launcher:     what `lightrl run` starts locally
// A training run (when `tasks` is present):
//   model:        the architecture (config.json), an optional starting checkpoint, a seed
//   tasks:        the prompt sources (tasks/task_yaml.h)
//   sampling:     what rollouts sample with (coordinator/pipeline_config.h)
//   coordinator:  the pipeline: mode, group size, batch, steps, staleness, eval
//   learner:      the trainer, checkpoints, the SFT warm start (learner/learner_node.h)
//   rollout:      rollout actors (rollout/rollout_node.h)
//   reward:       reward workers and the sandbox (reward/reward_node.h)
// The smoke cluster (when `smoke` is present): smoke (EchoProbeConfig) and echo.
#ifndef LIGHTRL_CLI_RUN_CONFIG_H_
#define LIGHTRL_CLI_RUN_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "actors/cluster_config.h"
#include "coordinator/pipeline_config.h"
#include "core/status.h"
#include "learner/learner_node.h"
#include "reward/reward_node.h"
#include "rollout/rollout_node.h"
#include "smoke/echo_probe.h"

namespace lightrl {

struct EchoSettings {
  int max_in_flight = 8;
  int work_delay_ms = 0;
};

enum class Placement { kProcesses, kThreads };

struct LauncherConfig {
  // Every role its own process (default), or threads of one process over inproc://.
  Placement placement = Placement::kProcesses;
  int echo_workers = 0;
  int rollout_workers = 1;
  int reward_workers = 1;
  // Where the launcher and the coordinator leave files for `lightrl status` and `lightrl
  // scale` (default: runs/<config file name without .yaml>).
  std::string run_dir;
  int metrics_port_base = 0;      // 0: every process picks a free port; else base, base+1, ...
  int restart_backoff_ms = 200;   // Doubles after each restart of the same worker, up to 10 s.
  int max_restarts = 5;           // Per worker; beyond it the run fails.
  int shutdown_grace_ms = 10000;  // Time allowed for processes to exit before SIGKILL.
};

struct RunConfig {
  std::string path;
  ClusterConfig cluster;
  LauncherConfig launcher;
  // The smoke cluster.
  std::optional<EchoProbeConfig> smoke;
  EchoSettings echo;
  // A training run: set together when `tasks` is present.
  std::vector<TaskConfig> tasks;
  std::optional<PipelineConfig> pipeline;
  LearnerNodeConfig learner;
  RolloutNodeConfig rollout;
  RewardNodeConfig reward;

  bool training() const { return pipeline.has_value(); }
};

// Loads and validates `path` with "dotted.key=value" `overrides` applied on top.
// Errors name the file, the key and the reason.
StatusOr<RunConfig> LoadRunConfig(const std::string& path,
                                  const std::vector<std::string>& overrides);

// Splits a --set flag value "a.b=1;c.d=x" into assignments.
std::vector<std::string> SplitOverrides(const std::string& flag_value);

}  // namespace lightrl

#endif  // LIGHTRL_CLI_RUN_CONFIG_H_
