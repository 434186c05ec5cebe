// `lightrl coordinator --config RUN.yaml`: the coordinator process.
#include <algorithm>
#include <cstdio>
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

}  // namespace

int CoordinatorCommand(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  BlockShutdownSignals();
  MetricsRegistry metrics;
  auto http = StartProcess("coordinator", FLAGS_log_level, FLAGS_metrics_address, &metrics);
  if (!http.ok()) {
    LOG(ERROR) << http.status();
    return 2;
  }
  auto run = LoadRunConfig(FLAGS_config, SplitOverrides(FLAGS_set));
  if (!run.ok()) {
    LOG(ERROR) << run.status();
    return 2;
  }
  CoordinatorConfig config{run->cluster, run->smoke};
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
        coordinator.reset();
      });
  if (!actor.ok()) {
    LOG(ERROR) << actor.status();
    return 2;
  }
  ShutdownCause cause = WaitForShutdown();
  if (cause == ShutdownCause::kSignal) LOG(INFO) << "stopping on signal";
  (*actor)->Stop();
  return cause == ShutdownCause::kFinished && success ? 0 : 1;
}

}  // namespace lightrl
