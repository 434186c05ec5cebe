// `lightrl coordinator --config RUN.yaml`: the coordinator process. Besides /metrics it serves
// GET /status (JSON: workers, pipeline accounting, evaluations) and writes where to find it
// to <run_dir>/coordinator.json for `lightrl status`.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "actors/actor.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/process.h"
#include "cli/reports.h"
#include "cli/run_config.h"
#include "coordinator/coordinator.h"
#include "core/logging.h"

namespace lightrl {
namespace {

void WriteStatusLocation(const std::string& run_dir, int port) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  std::ofstream out(run_dir + "/coordinator.json");
  out << nlohmann::json({{"status", "http://127.0.0.1:" + std::to_string(port) + "/status"},
                         {"pid", getpid()}})
             .dump()
      << "\n";
}

}  // namespace

int CoordinatorCommand(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  InstallSignalPipe();
  Status logging = SetUpLogging("coordinator", FLAGS_log_level);
  if (!logging.ok()) {
    LOG(ERROR) << logging;
    return 2;
  }
  auto run = LoadRunConfig(FLAGS_config, SplitOverrides(FLAGS_set));
  if (!run.ok()) {
    LOG(ERROR) << run.status();
    return 2;
  }
  CoordinatorConfig config{run->cluster, run->smoke, run->pipeline, run->tasks};
  MetricsRegistry metrics;
  zmq::context_t context(1);
  std::unique_ptr<Coordinator> coordinator;
  bool success = false;
  auto actor = Actor::Start(
      "coordinator",
      [&](EventLoop& loop) -> Status {
        ASSIGN_OR_RETURN(coordinator, Coordinator::Create(context, &loop, config, &metrics));
        coordinator->OnFinished([&success](bool ok) {
          success = ok;
          NotifyFinished();
        });
        return Status::Ok();
      },
      [&] {
        if (coordinator) PrintFinalReport(*coordinator);
        coordinator.reset();
      });
  if (!actor.ok()) {
    LOG(ERROR) << actor.status();
    return 2;
  }
  Actor* coordinator_actor = actor->get();
  auto http = StartMetricsServer(
      FLAGS_metrics_address, &metrics,
      {{"/status", [coordinator_actor, &coordinator] {
          std::string json;
          Status called = coordinator_actor->Call([&] { json = coordinator->StatusJson(); });
          if (!called.ok()) return HttpResponse{503, "text/plain", called.ToString()};
          return HttpResponse{200, "application/json", json + "\n"};
        }}});
  if (!http.ok()) {
    LOG(ERROR) << http.status();
    return 2;
  }
  WriteStatusLocation(run->launcher.run_dir, (*http)->port());
  ShutdownCause cause = WaitForShutdown();
  if (cause == ShutdownCause::kSignal) LOG(INFO) << "stopping on signal";
  http->reset();
  (*actor)->Stop();
  return cause == ShutdownCause::kFinished && success ? 0 : 1;
}

}  // namespace lightrl
