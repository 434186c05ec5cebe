// The outcome class of scoring one completion.
//
// A verdict travels with every reward (RewardResult) so that the coordinator and the
// metrics can tell a wrong answer from a broken sandbox. Only kCorrect is a pass; every
// error verdict (sandbox_error, invalid_reference, ...) scores as a failure.
#ifndef LIGHTRL_TASKS_VERDICT_H_
#define LIGHTRL_TASKS_VERDICT_H_

#include <optional>
#include <string_view>

namespace lightrl {

enum class Verdict : int {
  kCorrect = 0,
  kIncorrect = 1,
  // The answer could not be extracted from the completion (not a number, no \boxed{},
  // no code, an unparsable expression).
  kFormatError = 2,
  kCompileError = 3,
  kRuntimeError = 4,
  kTimeout = 5,
  kMemoryLimit = 6,
  kOutputLimit = 7,
  // The sandbox itself failed; says nothing about the completion.
  kSandboxError = 8,
  // The reference (from the task or the wire) is malformed; says nothing about the completion.
  kInvalidReference = 9,
};

inline constexpr int kNumVerdicts = 10;

// Lower-case snake name, e.g. "format_error". Stable: used in metrics and JSON.
std::string_view VerdictName(Verdict verdict);

// Inverse of VerdictName; nullopt for an unknown name.
std::optional<Verdict> ParseVerdict(std::string_view name);

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_VERDICT_H_
