// The run config: one YAML file describing a whole run. Every process of the run reads the
// same file; each uses the sections it needs. Unknown sections and keys are errors.
//
//   cluster:   ClusterConfig (actors/cluster_config.h)
//   smoke:     EchoProbeConfig — the smoke workload of the coordinator
//   echo:      max_in_flight, work_delay_ms of echo workers
//   launcher:  what `lightrl run` starts locally
#ifndef LIGHTRL_CLI_RUN_CONFIG_H_
#define LIGHTRL_CLI_RUN_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "actors/cluster_config.h"
#include "actors/echo_probe.h"
#include "core/status.h"

namespace lightrl {

struct EchoSettings {
  int max_in_flight = 8;
  int work_delay_ms = 0;
};

struct LauncherConfig {
  int echo_workers = 1;
  int metrics_port_base = 0;  // 0: every process picks a free port; else base, base+1, ...
  int restart_backoff_ms = 200;  // Doubles after each restart of the same worker, up to 10 s.
  int max_restarts = 5;          // Per worker; beyond it the run fails.
  int shutdown_grace_ms = 10000;  // Time allowed for processes to exit before SIGKILL.
};

struct RunConfig {
  std::string path;
  ClusterConfig cluster;
  std::optional<EchoProbeConfig> smoke;
  EchoSettings echo;
  LauncherConfig launcher;
};

// Loads and validates `path` with "dotted.key=value" `overrides` applied on top.
// Errors name the file, the key and the reason.
StatusOr<RunConfig> LoadRunConfig(const std::string& path,
                                  const std::vector<std::string>& overrides);

// Splits a --set flag value "a.b=1;c.d=x" into assignments.
std::vector<std::string> SplitOverrides(const std::string& flag_value);

}  // namespace lightrl

#endif  // LIGHTRL_CLI_RUN_CONFIG_H_
