// `lightrl run RUN.yaml`: starts the whole run on this machine (local launcher);
// `lightrl status` and `lightrl scale` talk to a running one.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/inprocess_run.h"
#include "cli/local_launcher.h"
#include "cli/reports.h"
#include "cli/run_config.h"
#include "core/http_client.h"
#include "core/logging.h"

namespace lightrl {
namespace {

std::string SelfExecutable() {
  char path[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  return n > 0 ? std::string(path, static_cast<size_t>(n)) : "lightrl";
}

// The run config named by the first argument or --config, for the operator subcommands.
StatusOr<RunConfig> ConfigFromArgs(int argc, char** argv, const char* usage) {
  std::string path = FLAGS_config;
  if (argc >= 2 && std::string(argv[1]).find('=') == std::string::npos) path = argv[1];
  if (path.empty()) return InvalidArgumentError(std::string("usage: ") + usage);
  return LoadRunConfig(path, SplitOverrides(FLAGS_set));
}

}  // namespace

int RunCommand(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  SetLogTag("launcher");
  auto run = ConfigFromArgs(argc, argv, "lightrl run RUN.yaml [--set 'key=value;...']");
  if (!run.ok()) {
    LOG(ERROR) << run.status();
    return 2;
  }
  if (run->launcher.placement == Placement::kThreads)
    return RunInProcess(*run, FLAGS_metrics_address);
  std::string self = SelfExecutable();
  std::vector<std::string> common = {"--config=" + run->path, "--set=" + FLAGS_set,
                                     "--log_level=" + FLAGS_log_level};
  int next_port = run->launcher.metrics_port_base;
  auto spec = [&](const std::string& name, const std::string& role, bool primary) {
    ProcessSpec p{name, role, {self, role}, primary};
    p.argv.insert(p.argv.end(), common.begin(), common.end());
    p.argv.push_back("--metrics_address=127.0.0.1:" +
                     std::to_string(next_port == 0 ? 0 : next_port++));
    if (!primary) p.argv.push_back("--id=" + name);
    return p;
  };
  LauncherPolicy policy{run->launcher.restart_backoff_ms, run->launcher.max_restarts,
                        run->launcher.shutdown_grace_ms};
  LocalLauncher launcher(
      policy,
      [&](const std::string& role, int index) {
        return spec(role + "-" + std::to_string(index), role, false);
      },
      run->launcher.run_dir);
  launcher.Add(spec("coordinator", "coordinator", true));
  auto add_workers = [&](const std::string& role, int count) {
    for (int i = 0; i < count; ++i) launcher.Add(spec(role + "-" + std::to_string(i), role, false));
  };
  if (run->training()) {
    launcher.Add(spec("learner", "learner", false));
    add_workers("rollout", run->launcher.rollout_workers);
    add_workers("reward", run->launcher.reward_workers);
  } else {
    add_workers("echo", run->launcher.echo_workers);
  }
  auto code = launcher.Run();
  if (!code.ok()) {
    LOG(ERROR) << code.status();
    return 1;
  }
  LOG(INFO) << "run finished with exit code " << *code;
  if (*code == 0) PrintTimeBudget(*run);
  return *code;
}

int StatusCommand(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  auto run = ConfigFromArgs(argc, argv, "lightrl status RUN.yaml");
  if (!run.ok()) {
    std::fprintf(stderr, "%s\n", run.status().ToString().c_str());
    return 2;
  }
  const std::string& dir = run->launcher.run_dir;
  std::ifstream launcher(dir + "/launcher.json");
  if (launcher)
    std::printf("launcher (%s/launcher.json):\n%s\n", dir.c_str(),
                std::string(std::istreambuf_iterator<char>(launcher), {}).c_str());
  std::ifstream location(dir + "/coordinator.json");
  nlohmann::json where = nlohmann::json::parse(location, nullptr, false);
  if (where.is_discarded() || !where.contains("status")) {
    std::fprintf(stderr, "no coordinator has run in %s\n", dir.c_str());
    return 1;
  }
  auto reply = HttpGet(where["status"].get<std::string>(), std::chrono::milliseconds(5000));
  if (!reply.ok() || reply->status != 200) {
    std::fprintf(
        stderr, "the coordinator does not answer: %s\n",
        reply.ok() ? std::to_string(reply->status).c_str() : reply.status().ToString().c_str());
    return 1;
  }
  std::printf("coordinator:\n%s", reply->body.c_str());
  return 0;
}

int ScaleCommand(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  auto run = ConfigFromArgs(argc, argv, "lightrl scale RUN.yaml rollout=N [reward=M]");
  if (!run.ok()) {
    std::fprintf(stderr, "%s\n", run.status().ToString().c_str());
    return 2;
  }
  std::string request = "scale";
  for (int i = 2; i < argc; ++i) request += std::string(" ") + argv[i];
  auto answer = SendLauncherCommand(run->launcher.run_dir, request);
  if (!answer.ok()) {
    std::fprintf(stderr, "%s\n", answer.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", answer->c_str());
  return answer->rfind("ok", 0) == 0 ? 0 : 1;
}

}  // namespace lightrl
