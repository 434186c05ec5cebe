// What the training pipeline tells the world: the JSONL log (config.metrics_jsonl: one "step"
// line per acknowledged step, one "eval" line per evaluation round, a "finished" line with the
// run's time window), the stdout progress and eval lines, the Prometheus gauges and outcome
// counters, and the JSON of `lightrl status`. cli/reports.cc and the tests read these; their
// formats are a contract.
//
// Times: elapsed seconds are measured on the coordinator loop's clock from construction; the
// finished line's window is Unix time (it is compared with the workers' activity logs).
//
// Thread-safety: none; lives on the coordinator actor's thread. Output is best effort: a log
// file that cannot be opened is skipped.
#ifndef LIGHTRL_COORDINATOR_PIPELINE_REPORT_H_
#define LIGHTRL_COORDINATOR_PIPELINE_REPORT_H_

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "actors/worker_registry.h"
#include "coordinator/evaluation.h"
#include "coordinator/group_state_machine.h"
#include "core/metrics.h"

namespace lightrl {

class PipelineReport {
 public:
  // `metrics` must outlive the report. `started` is the loop time the run started at.
  PipelineReport(const PipelineConfig& config, MetricsRegistry* metrics,
                 const PipelineAccounting& initial, Clock::time_point started);

  // Counts the tokens of generated samples (kept or not).
  void CountGeneratedTokens(std::span<const Sample> samples);
  // A generation request went out; the first one opens the run's time window.
  void GenerationDispatched();

  // A step was acknowledged (`accounting` includes it): the JSONL step line.
  void Step(const PipelineAccounting& accounting, const AppliedBatch& step, Clock::time_point now);
  // An evaluation round ended: the accuracy gauge, the stdout line and the JSONL eval line.
  void Evaluated(const EvalResult& result);
  // The run ended after `steps` steps: the JSONL finished line (once a generation request
  // went out).
  void Finished(int64_t steps);

  // The progress line on stdout.
  void PrintProgress(const GroupStateMachine& state, std::span<const EvalResult> evals,
                     Clock::time_point now) const;
  // The pipeline gauges.
  void UpdateGauges(const GroupStateMachine& state);
  // Brings lightrl_groups_total{outcome} up to `accounting` (trained and each drop reason).
  void CountOutcomes(const PipelineAccounting& accounting);
  // JSON for `lightrl status`.
  std::string StatusJson(const GroupStateMachine& state, std::span<const EvalResult> evals,
                         const WorkerRegistry& registry, bool finished) const;

 private:
  void AppendJsonLine(const std::string& line) const;

  std::string jsonl_path_;
  int64_t steps_;
  MetricsRegistry* metrics_;
  Clock::time_point started_;
  // From the first generation request to the finish: the window of the run's time budget.
  std::optional<std::chrono::system_clock::time_point> first_dispatch_;
  int64_t generated_tokens_ = 0;
  double last_reward_mean_ = 0;
  PipelineAccounting counted_;  // What lightrl_groups_total holds.
};

}  // namespace lightrl

#endif  // LIGHTRL_COORDINATOR_PIPELINE_REPORT_H_
