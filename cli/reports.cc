#include "cli/reports.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/activity_log.h"

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
    std::printf("%s%s %lld", r ? ", " : "",
                std::string(DropReasonName(static_cast<DropReason>(r))).c_str(),
                static_cast<long long>(a.dropped[r]));
  }
  std::printf(") + open %lld: %s\n", static_cast<long long>(a.open),
              a.balanced() ? "balanced" : "NOT BALANCED");
  const auto& evals = pipeline.evals();
  if (evals.size() >= 2) {
    std::printf(
        "run: held-out accuracy %.3f before RL (version %llu) -> %.3f after RL (version %llu)\n",
        evals.front().accuracy(), static_cast<unsigned long long>(evals.front().requested_version),
        evals.back().accuracy(), static_cast<unsigned long long>(evals.back().requested_version));
  }
  std::fflush(stdout);
}

}  // namespace

void PrintFinalReport(const Coordinator& coordinator) {
  if (coordinator.echo_report()) PrintEchoReport(*coordinator.echo_report());
  if (coordinator.pipeline()) PrintTrainingReport(*coordinator.pipeline());
}

void PrintTimeBudget(const RunConfig& run) {
  if (!run.pipeline || run.cluster.activity_dir.empty()) return;
  std::optional<BusyInterval> window;
  std::ifstream log(run.pipeline->metrics_jsonl);
  for (std::string line; std::getline(log, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("kind", "") == "finished") {
      window = BusyInterval{j.value("window_start", 0.0), j.value("window_end", 0.0)};
    }
  }
  if (!window) {
    std::printf("run: no time budget (the coordinator logged no finished run in '%s')\n",
                run.pipeline->metrics_jsonl.c_str());
    return;
  }
  auto budget = MeasureTimeBudget(run.cluster.activity_dir, *window);
  if (!budget.ok()) {
    std::printf("run: no time budget: %s\n", budget.status().ToString().c_str());
    return;
  }
  std::printf("run: time budget %s (orchestration overhead)%s\n", budget->ToString().c_str(),
              budget->skipped_lines > 0 ? "; some activity lines were cut off" : "");
  std::fflush(stdout);
}

}  // namespace lightrl
