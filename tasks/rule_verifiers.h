// Rule verifiers: score a completion against a reference without running code.
//
// Every verifier is a pure function of its inputs: deterministic, allocation-bounded by
// the input size, and safe to call from any thread. The score is 1 for kCorrect and 0
// otherwise; the verdict tells a wrong answer (kIncorrect) from an answer that could not
// be extracted (kFormatError).
#ifndef LIGHTRL_TASKS_RULE_VERIFIERS_H_
#define LIGHTRL_TASKS_RULE_VERIFIERS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tasks/reference.h"
#include "tasks/verdict.h"

namespace lightrl {

struct Verification {
  double score = 0.0;
  Verdict verdict = Verdict::kIncorrect;
  // One human-readable line on why, e.g. "expected 122, got 121".
  std::string details;
};

// Numeric `answer` (see ParseRational): the trimmed completion must be a number (else
// kFormatError) equal in value to it, so "0.50" matches "1/2". Other answers: equal after
// trimming and collapsing runs of whitespace.
// With `compare_text`, a numeric answer is compared as text too ("08" is not "8").
Verification VerifyExact(std::string_view answer, std::string_view completion,
                         bool compare_text = false);

// The completion's last \boxed{...} is the answer (none: kFormatError). Both sides are
// normalized (spaces, $, \left/\right, \dfrac/\tfrac, thin spaces, a trailing period
// dropped) and compared as numbers when both are integers, decimals, a/b or
// [-]\frac{a}{b}; otherwise as normalized text. `answer` may itself be wrapped in \boxed{}.
Verification VerifyMath(std::string_view answer, std::string_view completion);

// The trimmed completion must be a countdown expression (see countdown_expression.h;
// otherwise kFormatError) using each of `numbers` exactly once and evaluating to `target`.
Verification VerifyCountdown(const std::vector<int64_t>& numbers, int64_t target,
                             std::string_view completion);

// The completion must be integers separated by spaces or commas (otherwise kFormatError)
// equal to `expected`.
Verification VerifySorting(const std::vector<int64_t>& expected, std::string_view completion);

// Dispatches on reference.kind. FailedPreconditionError for a code reference, which needs
// the sandbox (see reward/scorer.h).
StatusOr<Verification> VerifyByRule(const Reference& reference, std::string_view completion);

// The extracted \boxed{} content (outermost braces balanced), last occurrence; nullopt when
// there is none or its braces do not close.
std::optional<std::string> ExtractLastBoxed(std::string_view text);

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_RULE_VERIFIERS_H_
