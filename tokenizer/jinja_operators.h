// The binary operators of the Jinja interpreter with Python's semantics: + - * / // % ** and
// Jinja's ~ (string concatenation). Integers are 64-bit: an overflow is an error, never a
// wrapped result. String formatting with % is not supported.
//
// Thread-safety: pure function.
#ifndef LIGHTRL_TOKENIZER_JINJA_OPERATORS_H_
#define LIGHTRL_TOKENIZER_JINJA_OPERATORS_H_

#include <string_view>

#include "core/status.h"
#include "tokenizer/jinja_value.h"

namespace lightrl::jinja {

// `a op b`; errors (without a location) read like Python's TypeError and ZeroDivisionError.
StatusOr<Value> BinaryOperation(std::string_view op, const Value& a, const Value& b);

}  // namespace lightrl::jinja

#endif  // LIGHTRL_TOKENIZER_JINJA_OPERATORS_H_
