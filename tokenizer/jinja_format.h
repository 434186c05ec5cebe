// Values as text, the way Python writes them: str() for {{ }} output, repr() inside lists and
// dicts, and json.dumps for the tojson filter (as transformers defines it: ensure_ascii off,
// keys in insertion order, Python's separators).
//
// Thread-safety: pure functions.
#ifndef LIGHTRL_TOKENIZER_JINJA_FORMAT_H_
#define LIGHTRL_TOKENIZER_JINJA_FORMAT_H_

#include <optional>
#include <string>
#include <utility>

#include "core/status.h"
#include "tokenizer/jinja_value.h"

namespace lightrl::jinja {

// Python's repr(float): the shortest text that reads back the same ("0.1", "1e-05", "2.0").
std::string FloatRepr(double value);

// str(value): strings as they are, None, True, 1.5, [1, 'a'], {'k': None}; undefined is "".
std::string ToStr(const Value& value);
// repr(value): strings quoted as Python quotes them.
std::string ToRepr(const Value& value);

struct JsonOptions {
  std::optional<std::string> indent;  // Each level's indent; none: all on one line.
  // (item, key) separators; none: (", ", ": ") on one line, (",", ": ") with an indent.
  std::optional<std::pair<std::string, std::string>> separators;
  bool sort_keys = false;
  bool ensure_ascii = false;  // Escape every code point outside printable ASCII as \uXXXX.
};

// json.dumps(value, ...): an error for undefined, a namespace or a callable.
StatusOr<std::string> ToJson(const Value& value, const JsonOptions& options);

}  // namespace lightrl::jinja

#endif  // LIGHTRL_TOKENIZER_JINJA_FORMAT_H_
