#include "cli/run_config.h"

#include <sstream>

namespace lightrl {
namespace {

Status ParseEcho(const ConfigNode& node, EchoSettings* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"max_in_flight", "work_delay_ms"}));
  RETURN_IF_ERROR(node.Optional("max_in_flight", &out->max_in_flight, 1, 1 << 20));
  RETURN_IF_ERROR(node.Optional("work_delay_ms", &out->work_delay_ms, 0, 3600000));
  return Status::Ok();
}

Status ParseLauncher(const ConfigNode& node, LauncherConfig* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"echo_workers", "metrics_port_base", "restart_backoff_ms",
                                       "max_restarts", "shutdown_grace_ms"}));
  RETURN_IF_ERROR(node.Optional("echo_workers", &out->echo_workers, 0, 1024));
  RETURN_IF_ERROR(node.Optional("metrics_port_base", &out->metrics_port_base, 0, 65000));
  RETURN_IF_ERROR(node.Optional("restart_backoff_ms", &out->restart_backoff_ms, 1, 600000));
  RETURN_IF_ERROR(node.Optional("max_restarts", &out->max_restarts, 0, 1000000));
  RETURN_IF_ERROR(node.Optional("shutdown_grace_ms", &out->shutdown_grace_ms, 1, 600000));
  return Status::Ok();
}

}  // namespace

StatusOr<RunConfig> LoadRunConfig(const std::string& path,
                                  const std::vector<std::string>& overrides) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path, overrides));
  RETURN_IF_ERROR(root.ExpectOnlyKeys({"cluster", "smoke", "echo", "launcher"}));
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
