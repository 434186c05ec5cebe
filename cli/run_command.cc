// `lightrl run RUN.yaml`: starts the whole run on this machine (local launcher).
#include <unistd.h>

#include <climits>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/local_launcher.h"
#include "cli/run_config.h"
#include "core/logging.h"

namespace lightrl {
namespace {

std::string SelfExecutable() {
  char path[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  return n > 0 ? std::string(path, static_cast<size_t>(n)) : "lightrl";
}

std::string MetricsAddress(const LauncherConfig& launcher, int index) {
  int port = launcher.metrics_port_base == 0 ? 0 : launcher.metrics_port_base + index;
  return "--metrics_address=127.0.0.1:" + std::to_string(port);
}

}  // namespace

int RunCommand(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  SetLogTag("launcher");
  std::string config_path = FLAGS_config;
  if (argc >= 2) config_path = argv[1];
  if (config_path.empty()) {
    LOG(ERROR) << "usage: lightrl run RUN.yaml [--set 'key=value;...']";
    return 2;
  }
  auto run = LoadRunConfig(config_path, SplitOverrides(FLAGS_set));
  if (!run.ok()) {
    LOG(ERROR) << run.status();
    return 2;
  }
  std::string self = SelfExecutable();
  std::vector<std::string> common = {"--config=" + config_path, "--set=" + FLAGS_set,
                                     "--log_level=" + FLAGS_log_level};
  std::vector<ProcessSpec> processes;
  auto add = [&](std::string name, std::string command, std::vector<std::string> extra,
                 bool primary) {
    ProcessSpec spec{name, {self, command}, primary};
    spec.argv.insert(spec.argv.end(), common.begin(), common.end());
    spec.argv.push_back(MetricsAddress(run->launcher, static_cast<int>(processes.size())));
    spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
    processes.push_back(std::move(spec));
  };
  add("coordinator", "coordinator", {}, true);
  auto add_workers = [&](const std::string& role, int count) {
    for (int i = 0; i < count; ++i) {
      std::string id = role + "-" + std::to_string(i);
      add(id, role, {"--id=" + id}, false);
    }
  };
  if (run->training()) {
    add("learner", "learner", {"--id=learner"}, false);
    add_workers("rollout", run->launcher.rollout_workers);
    add_workers("reward", run->launcher.reward_workers);
  } else {
    add_workers("echo", run->launcher.echo_workers);
  }
  LauncherPolicy policy{run->launcher.restart_backoff_ms, run->launcher.max_restarts,
                        run->launcher.shutdown_grace_ms};
  auto code = RunLocalCluster(processes, policy);
  if (!code.ok()) {
    LOG(ERROR) << code.status();
    return 1;
  }
  LOG(INFO) << "run finished with exit code " << *code;
  return *code;
}

}  // namespace lightrl
