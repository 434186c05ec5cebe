// A safe parser and exact evaluator for countdown answers.
//
// Grammar (spaces allowed between tokens):
//   expr   := term (('+' | '-') term)*
//   term   := factor (('*' | '/') factor)*
//   factor := integer | '(' expr ')'
// There is no unary minus, no other operator, and nothing is ever handed to an
// interpreter. Input is bounded: at most kMaxCountdownChars characters, kMaxCountdownDepth
// nested parentheses and kMaxCountdownNumbers numbers, so recursion depth is bounded.
// Arithmetic is exact (rationals), so 7/2*2 is 7.
#ifndef LIGHTRL_TASKS_COUNTDOWN_EXPRESSION_H_
#define LIGHTRL_TASKS_COUNTDOWN_EXPRESSION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tasks/rational.h"

namespace lightrl {

inline constexpr int kMaxCountdownChars = 256;
inline constexpr int kMaxCountdownDepth = 16;
inline constexpr int kMaxCountdownNumbers = 16;

struct CountdownEvaluation {
  // The numbers as they appear in the expression, left to right.
  std::vector<int64_t> numbers;
  // The exact value; nullopt when evaluation failed (division by zero, overflow).
  std::optional<Rational> value;
  // Why `value` is missing; empty otherwise.
  std::string error;
};

// InvalidArgumentError (naming the offending position) when `text` does not match the
// grammar or exceeds a bound; otherwise the numbers and the value.
StatusOr<CountdownEvaluation> EvaluateCountdownExpression(std::string_view text);

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_COUNTDOWN_EXPRESSION_H_
