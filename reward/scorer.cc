#include "reward/scorer.h"

#include "tasks/code_extraction.h"
#include "tasks/reference.h"
#include "tasks/rule_verifiers.h"

namespace lightrl {
namespace {

// An extracted answer earns at least the format reward.
bool AnswerExtracted(Verdict v) {
  return v != Verdict::kFormatError && v != Verdict::kSandboxError &&
         v != Verdict::kInvalidReference;
}

}  // namespace

Status ScorerConfig::Validate() const {
  RETURN_IF_ERROR(default_scoring.Validate());
  for (const auto& [task, options] : task_scoring) {
    Status s = options.Validate();
    if (!s.ok()) return s.WithContext("ScorerConfig.task_scoring['" + task + "']");
  }
  return code.Validate();
}

Scorer::Scorer(ScorerConfig config, Sandbox* sandbox)
    : config_(std::move(config)), sandbox_(sandbox), judge_(sandbox, config_.code) {}

ScoreResult Scorer::Score(std::string_view task_name, std::string_view reference_json,
                          std::string_view completion) const {
  auto it = config_.task_scoring.find(std::string(task_name));
  const ScoringOptions& options =
      it == config_.task_scoring.end() ? config_.default_scoring : it->second;
  StatusOr<Reference> reference = ParseReference(reference_json);
  ScoreResult result;
  if (!reference.ok()) {
    result.verdict = Verdict::kInvalidReference;
    result.details = std::string(reference.status().message());
    return result;
  }
  if (reference->kind == VerifierKind::kCode) {
    result = ScoreCode(*reference, options, completion);
  } else {
    Verification v = std::move(VerifyByRule(*reference, completion)).value();
    result.score = v.score;
    result.verdict = v.verdict;
    result.details = std::move(v.details);
  }
  if (AnswerExtracted(result.verdict) && result.score < options.format_reward) {
    result.score = options.format_reward;
  }
  return result;
}

ScoreResult Scorer::ScoreCode(const Reference& reference, const ScoringOptions& options,
                              std::string_view completion) const {
  ScoreResult result;
  std::optional<std::string> code = ExtractCode(completion);
  if (!code) {
    result.verdict = Verdict::kFormatError;
    result.details = "no code in the completion";
    return result;
  }
  if (sandbox_ == nullptr) {
    result.verdict = Verdict::kSandboxError;
    result.details = "this scorer has no sandbox for code references";
    return result;
  }
  bool all_pass = options.code_reward == CodeReward::kAllPass;
  Judgement j = judge_.Judge(reference.code, *code, /*stop_at_first_failure=*/all_pass);
  result.verdict = j.verdict;
  result.details = j.verdict == Verdict::kCorrect
                       ? "all " + std::to_string(j.total) + " tests passed"
                       : std::move(j.details);
  result.tests_passed = j.passed;
  result.tests_total = j.total;
  if (j.verdict == Verdict::kSandboxError || j.total == 0) return result;
  if (all_pass) {
    result.score = j.verdict == Verdict::kCorrect ? 1.0 : 0.0;
  } else {
    result.score = static_cast<double>(j.passed) / j.total;
  }
  return result;
}

}  // namespace lightrl
