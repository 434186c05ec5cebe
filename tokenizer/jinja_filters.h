// The filters and tests of the Jinja interpreter, with Jinja2's semantics (and transformers'
// tojson: json.dumps with ensure_ascii off, keys in insertion order).
//
// Filters: abs capitalize count d default dictsort e escape first float indent int items join
//   last length list lower map reject rejectattr replace reverse safe select selectattr sort
//   string title tojson trim unique upper
// Tests: boolean callable defined divisibleby eq equalto escaped even false float ge gt in
//   integer iterable le lower lt mapping ne none number odd sameas sequence string true undefined
//   upper, and the operator names == != < <= > >= (also greaterthan, lessthan)
//
// Case mapping (upper, lower, title, capitalize) is ASCII only: non-ASCII text is an error, never
// text left unmapped. Errors carry no location; the interpreter adds it.
//
// Thread-safety: pure functions.
#ifndef LIGHTRL_TOKENIZER_JINJA_FILTERS_H_
#define LIGHTRL_TOKENIZER_JINJA_FILTERS_H_

#include <string_view>

#include "core/status.h"
#include "tokenizer/jinja_value.h"

namespace lightrl::jinja {

bool HasFilter(std::string_view name);
bool HasTest(std::string_view name);

// `input | name(args)`; `name` must satisfy HasFilter.
StatusOr<Value> ApplyFilter(std::string_view name, const Value& input, const CallArgs& args);
// `input is name(args)`; `name` must satisfy HasTest.
StatusOr<bool> ApplyTest(std::string_view name, const Value& input, const CallArgs& args);

}  // namespace lightrl::jinja

#endif  // LIGHTRL_TOKENIZER_JINJA_FILTERS_H_
