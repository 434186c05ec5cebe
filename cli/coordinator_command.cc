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
#include "actors/coordinator.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/process.h"
#include "cli/run_config.h"
#include "core/logging.h"

namespace lightrl {
namespace {

void PrintEchoReport(const EchoProbeReport& report) {
  std::vector<double> rtt = report.round_trip_ms;
  std::sort(rtt.begin(), rtt.end());
  auto at = [&](double q) {
    return rtt.empty() ? 0.0 : rtt[std::min(rtt.size() - 1, static_cast<size_t>(q * rtt.size()))];
  };
  std::printf(
      "smoke: %lld probes answered in %.2f s (%.0f/s), round trip p50 %.2f ms p99 %.2f ms; "
      "mismatched %lld, duplicates %lld, re-sent %lld, producer backpressure %lld, "
      "pending high water %zu\n",
      static_cast<long long>(report.answered), report.seconds,
      report.seconds > 0 ? report.answered / report.seconds : 0.0, at(0.5), at(0.99),
      static_cast<long long>(report.mismatched), static_cast<long long>(report.duplicates),
      static_cast<long long>(report.requeued), static_cast<long long>(report.backpressure),
      report.pending_high_water);
  std::printf("smoke: %s\n", report.ok() ? "PASS" : "FAIL");
  std::fflush(stdout);
}

void PrintTrainingReport(const TrainingPipeline& pipeline) {
  const PipelineAccounting& a = pipeline.accounting();
  std::printf("run: %lld steps; groups created %lld = trained %lld + dropped %lld (",
              static_cast<long long>(a.steps), static_cast<long long>(a.created),
              static_cast<long long>(a.trained), static_cast<long long>(a.dropped_total()));
  for (int r = 0; r < kNumDropReasons; ++r) {
    std::printf("%s%s %lld", r ? ", " : "", std::string(DropReasonName(static_cast<DropReason>(r))).c_str(),
                static_cast<long long>(a.dropped[r]));
  }
  std::printf(") + open %lld: %s\n", static_cast<long long>(a.open),
              a.balanced() ? "balanced" : "NOT BALANCED");
  const auto& evals = pipeline.evals();
  if (evals.size() >= 2) {
    std::printf("run: held-out accuracy %.3f before RL (version %llu) -> %.3f after RL (version %llu)\n",
                evals.front().accuracy(), static_cast<unsigned long long>(evals.front().requested_version),
                evals.back().accuracy(), static_cast<unsigned long long>(evals.back().requested_version));
  }
  std::fflush(stdout);
}

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
        if (coordinator && coordinator->echo_report()) PrintEchoReport(*coordinator->echo_report());
        if (coordinator && coordinator->pipeline()) PrintTrainingReport(*coordinator->pipeline());
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
