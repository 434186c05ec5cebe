// The Scorer: (task name, reference JSON, completion) -> (score, verdict, details).
//
// Rule references (exact, math, countdown, sorting) are verified in-process with the
// tasks/ verifiers; code references are judged in the sandbox (reward/code_judge.h).
// The task name selects ScoringOptions (code reward: all tests or pass fraction; format
// reward). Every failure of the machinery is a verdict with score 0, never a pass:
// a reference that does not parse is invalid_reference, a sandbox failure sandbox_error.
//
// Thread-safety: Score may be called concurrently from any number of threads. Rule
// verification never blocks; code scoring blocks while every sandbox slot is busy (and
// runs at most one program per slot at a time), so at most `slots` code completions make
// progress at once.
#ifndef LIGHTRL_REWARD_SCORER_H_
#define LIGHTRL_REWARD_SCORER_H_

#include <map>
#include <string>
#include <string_view>

#include "reward/code_judge.h"
#include "sandbox/sandbox.h"
#include "tasks/task_config.h"
#include "tasks/verdict.h"

namespace lightrl {

struct ScorerConfig {
  // Options of a task not listed in task_scoring.
  ScoringOptions default_scoring;
  std::map<std::string, ScoringOptions> task_scoring;
  CodeJudgeConfig code;

  Status Validate() const;
};

struct ScoreResult {
  double score = 0.0;
  Verdict verdict = Verdict::kSandboxError;
  std::string details;
  // Code references: tests passed and tests in the reference; 0 otherwise.
  int tests_passed = 0;
  int tests_total = 0;
};

class Scorer {
 public:
  // `sandbox` may be null (a worker without code tasks): code references then score
  // sandbox_error. Otherwise it must outlive the scorer. `config` must be valid.
  Scorer(ScorerConfig config, Sandbox* sandbox);

  ScoreResult Score(std::string_view task_name, std::string_view reference_json,
                    std::string_view completion) const;

 private:
  ScoreResult ScoreCode(const Reference& reference, const ScoringOptions& options,
                        std::string_view completion) const;

  ScorerConfig config_;
  Sandbox* sandbox_;
  CodeJudge judge_;
};

}  // namespace lightrl

#endif  // LIGHTRL_REWARD_SCORER_H_
