#include "coordinator/evaluation.h"

#include <algorithm>

#include "core/logging.h"

namespace lightrl {

Evaluation::Evaluation(const PipelineConfig& config, std::span<const std::unique_ptr<Task>> tasks)
    : config_(config.eval), tasks_(tasks), initial_done_(config.eval.items == 0) {
  const SamplingConfig& s = config.sampling;
  generation_.samples_per_prompt = 1;
  generation_.temperature = 0.0f;
  generation_.top_p = 1.0f;
  generation_.top_k = 0;
  generation_.max_tokens = static_cast<uint32_t>(config.eval.max_tokens);
  generation_.stop_strings = s.stop_strings;
  generation_.repetition_window = static_cast<uint32_t>(s.repetition_window);
  generation_.repetition_probability = static_cast<float>(s.repetition_probability);
}

Status Evaluation::Validate() const {
  if (!enabled() || !RoundPrompts().empty()) return Status::Ok();
  return InvalidArgumentError("coordinator.eval.items is " + std::to_string(config_.items) +
                              " but no task has eval items; set it to 0 or give a task an "
                              "eval split");
}

std::vector<PromptRef> Evaluation::RoundPrompts() const {
  std::vector<PromptRef> prompts;
  const int per_task = std::max<int>(1, config_.items / static_cast<int>(tasks_.size()));
  for (int task = 0; task < static_cast<int>(tasks_.size()); ++task) {
    int64_t size = tasks_[task]->Size(Split::kEval);
    for (int64_t i = 0; i < per_task && (size < 0 || i < size); ++i) prompts.push_back({task, i});
  }
  return prompts;
}

std::optional<EvalResult> Evaluation::BeginRound(uint64_t version, int items) {
  CHECK(!round_) << "one evaluation round at a time";
  round_ = Round{EvalResult{version, UINT64_MAX, items, 0}, 0};
  if (items == 0) return EndRound();
  return std::nullopt;
}

std::optional<EvalResult> Evaluation::Record(const EvalAnswer& answer) {
  CHECK(round_) << "an eval answer without a round";
  EvalResult& result = round_->result;
  result.correct += answer.correct;
  result.min_token_version = std::min(result.min_token_version, answer.min_token_version);
  if (++round_->answered < result.items) return std::nullopt;
  return EndRound();
}

EvalResult Evaluation::EndRound() {
  EvalResult& result = round_->result;
  if (result.min_token_version == UINT64_MAX) result.min_token_version = 0;
  results_.push_back(result);
  round_.reset();
  initial_done_ = true;
  return results_.back();
}

bool Evaluation::DueAfterStep(int64_t step, int64_t last_step) const {
  return config_.every_steps > 0 && step % config_.every_steps == 0 && step < last_step;
}

bool Evaluation::ClaimFinalRound() {
  if (!enabled() || final_claimed_) return false;
  final_claimed_ = true;
  return true;
}

}  // namespace lightrl
