#include "coordinator/pipeline_report.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lightrl {
namespace {

nlohmann::json DroppedJson(const PipelineAccounting& accounting) {
  nlohmann::json dropped;
  for (int r = 0; r < kNumDropReasons; ++r) {
    dropped[std::string(DropReasonName(static_cast<DropReason>(r)))] = accounting.dropped[r];
  }
  return dropped;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

PipelineReport::PipelineReport(const PipelineConfig& config, MetricsRegistry* metrics,
                               const PipelineAccounting& initial, Clock::time_point started)
    : jsonl_path_(config.metrics_jsonl),
      steps_(config.steps),
      metrics_(metrics),
      started_(started),
      counted_(initial) {}

void PipelineReport::CountGeneratedTokens(std::span<const Sample> samples) {
  for (const Sample& sample : samples)
    generated_tokens_ += static_cast<int64_t>(sample.tokens.size());
}

void PipelineReport::GenerationDispatched() {
  if (!first_dispatch_) first_dispatch_ = std::chrono::system_clock::now();
}

void PipelineReport::AppendJsonLine(const std::string& line) const {
  if (jsonl_path_.empty()) return;
  std::ofstream out(jsonl_path_, std::ios::app);
  out << line << "\n";
}

void PipelineReport::Step(const PipelineAccounting& accounting, const AppliedBatch& step,
                          Clock::time_point now) {
  last_reward_mean_ = step.reward_mean;
  AppendJsonLine(nlohmann::json({{"kind", "step"},
                                 {"step", accounting.steps},
                                 {"version", step.version},
                                 {"reward_mean", step.reward_mean},
                                 {"created", accounting.created},
                                 {"trained", accounting.trained},
                                 {"open", accounting.open},
                                 {"dropped", DroppedJson(accounting)},
                                 {"balanced", accounting.balanced()},
                                 {"generated_tokens", generated_tokens_},
                                 {"elapsed_seconds", Seconds(now - started_)}})
                     .dump());
}

void PipelineReport::Evaluated(const EvalResult& result) {
  metrics_->GetGauge("lightrl_eval_accuracy", "Held-out accuracy of the last evaluation.")
      ->Set(result.accuracy());
  std::printf("eval: version %llu, held-out accuracy %.3f (%d/%d)\n",
              static_cast<unsigned long long>(result.requested_version), result.accuracy(),
              result.correct, result.items);
  std::fflush(stdout);
  AppendJsonLine(nlohmann::json({{"kind", "eval"},
                                 {"version", result.requested_version},
                                 {"min_token_version", result.min_token_version},
                                 {"items", result.items},
                                 {"correct", result.correct},
                                 {"accuracy", result.accuracy()}})
                     .dump());
}

void PipelineReport::Finished(int64_t steps) {
  if (!first_dispatch_) return;
  auto unix_seconds = [](std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
  };
  AppendJsonLine(nlohmann::json({{"kind", "finished"},
                                 {"steps", steps},
                                 {"window_start", unix_seconds(*first_dispatch_)},
                                 {"window_end", unix_seconds(std::chrono::system_clock::now())}})
                     .dump());
}

void PipelineReport::PrintProgress(const GroupStateMachine& state,
                                   std::span<const EvalResult> evals, Clock::time_point now) const {
  const double elapsed = Seconds(now - started_);
  const PipelineAccounting& a = state.accounting();
  const QueueSizes queues = state.queue_sizes();
  std::ostringstream eval_text;
  for (const EvalResult& e : evals) {
    eval_text << " " << std::fixed;
    eval_text.precision(2);
    eval_text << e.accuracy() << "@v" << e.requested_version;
  }
  std::printf(
      "progress: step %lld/%lld | reward %.3f | eval%s | gen %.0f tok/s | learner v%llu | "
      "queues gen %zu score %zu ready %zu | groups trained %lld dropped %lld open %lld | %.0fs\n",
      static_cast<long long>(a.steps), static_cast<long long>(steps_), last_reward_mean_,
      evals.empty() ? " -" : eval_text.str().c_str(),
      elapsed > 0 ? generated_tokens_ / elapsed : 0.0,
      static_cast<unsigned long long>(state.learner_version()), queues.to_generate, queues.to_score,
      queues.ready, static_cast<long long>(a.trained), static_cast<long long>(a.dropped_total()),
      static_cast<long long>(a.open), elapsed);
  std::fflush(stdout);
}

void PipelineReport::UpdateGauges(const GroupStateMachine& state) {
  const PipelineAccounting& a = state.accounting();
  const QueueSizes queues = state.queue_sizes();
  auto gauge = [this](const char* name, const char* help, double value) {
    metrics_->GetGauge(name, help)->Set(value);
  };
  gauge("lightrl_pipeline_step", "Learner steps acknowledged.", static_cast<double>(a.steps));
  gauge("lightrl_pipeline_open_groups", "Groups created and not yet trained or dropped.",
        static_cast<double>(a.open));
  gauge("lightrl_pipeline_to_generate", "Groups waiting for a rollout actor.",
        static_cast<double>(queues.to_generate));
  gauge("lightrl_pipeline_to_score", "Groups waiting for a reward worker.",
        static_cast<double>(queues.to_score));
  gauge("lightrl_pipeline_ready", "Scored groups waiting for the learner.",
        static_cast<double>(queues.ready));
  gauge("lightrl_pipeline_learner_version", "Latest policy version.",
        static_cast<double>(state.learner_version()));
  gauge("lightrl_pipeline_accounting_balanced",
        "1 while created == trained + dropped + open holds.", a.balanced() ? 1 : 0);
}

void PipelineReport::CountOutcomes(const PipelineAccounting& accounting) {
  auto count = [this](const std::string& outcome, int64_t now, int64_t* counted) {
    if (now == *counted) return;
    metrics_->GetCounter("lightrl_groups_total", "Groups by outcome.", {{"outcome", outcome}})
        ->Increment(static_cast<double>(now - *counted));
    *counted = now;
  };
  count("trained", accounting.trained, &counted_.trained);
  for (int r = 0; r < kNumDropReasons; ++r) {
    count("dropped_" + std::string(DropReasonName(static_cast<DropReason>(r))),
          accounting.dropped[r], &counted_.dropped[r]);
  }
}

std::string PipelineReport::StatusJson(const GroupStateMachine& state,
                                       std::span<const EvalResult> evals,
                                       const WorkerRegistry& registry, bool finished) const {
  const PipelineAccounting& a = state.accounting();
  const QueueSizes queues = state.queue_sizes();
  nlohmann::json eval_list = nlohmann::json::array();
  for (const EvalResult& e : evals) {
    eval_list.push_back(
        {{"version", e.requested_version}, {"accuracy", e.accuracy()}, {"items", e.items}});
  }
  nlohmann::json workers = nlohmann::json::array();
  for (const WorkerInfo& w : registry.Workers()) {
    workers.push_back({{"id", w.id},
                       {"role", std::string(RoleName(w.role))},
                       {"pid", w.pid},
                       {"host", w.hostname},
                       {"metrics_port", w.metrics_port},
                       {"policy_version", w.policy_version},
                       {"in_flight", w.in_flight},
                       {"credits", registry.Credits(w.id)}});
  }
  return nlohmann::json({{"step", a.steps},
                         {"steps", steps_},
                         {"learner_version", state.learner_version()},
                         {"created", a.created},
                         {"trained", a.trained},
                         {"open", a.open},
                         {"dropped", DroppedJson(a)},
                         {"balanced", a.balanced()},
                         {"queues",
                          {{"to_generate", queues.to_generate},
                           {"to_score", queues.to_score},
                           {"ready", queues.ready}}},
                         {"evals", eval_list},
                         {"workers", workers},
                         {"finished", finished}})
      .dump(2);
}

}  // namespace lightrl
