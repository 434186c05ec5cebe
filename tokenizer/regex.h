// Regular expressions for the tokenizer: PCRE2 in UTF mode with Unicode properties and JIT.
//
// The Rust `tokenizers` library compiles the patterns of tokenizer.json with Oniguruma (Ruby
// syntax). FromOniguruma translates the constructs whose meaning differs between the two
// engines, so that a pattern matches what Oniguruma matches:
//   \s \S      Oniguruma's whitespace: U+0009-U+000D, U+0085 and the Z categories
//   \w \W      Oniguruma's word characters: L, M, N and Pc; \b and \B follow them
//   \h \H      hexadecimal digits (PCRE2: horizontal space);  \v  U+000B (PCRE2: a class)
//   \uHHHH     a code point;  ^ and $  line anchors (newline is LF);  (?m)  dot-all
// and refuses (an error naming the construct) what it cannot translate: \S, \W or \H inside a
// character class, nested classes and class intersection (&&), the options other than i, m
// and x, and \y and \Y. Everything else is passed to PCRE2, which reports its own errors.
//
// Thread-safety: a compiled Regex is immutable; FindAll may run from many threads at once (each
// thread keeps its own match data and JIT stack).
#ifndef LIGHTRL_TOKENIZER_REGEX_H_
#define LIGHTRL_TOKENIZER_REGEX_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/function_ref.h"

namespace lightrl::tokenizer {

// The PCRE2 pattern equivalent to the Oniguruma pattern `pattern`; InvalidArgument names the
// construct that has no translation.
StatusOr<std::string> OnigurumaToPcre2(std::string_view pattern);

class Regex {
 public:
  // Compiles an Oniguruma pattern (see above). InvalidArgument on a construct without a
  // translation or a pattern PCRE2 rejects (the message quotes PCRE2's and the offset).
  static StatusOr<Regex> FromOniguruma(std::string_view pattern);
  // Compiles a PCRE2 pattern as it is; errors as FromOniguruma.
  static StatusOr<Regex> FromPcre2(std::string_view pattern);

  // Calls on_match(begin, end) for each match in `text` (valid UTF-8), left to right and not
  // overlapping, as Oniguruma's find_iter does: an empty match right where the previous match
  // ended is skipped by moving one character on. ResourceExhausted when PCRE2 gives up (its
  // match or JIT stack limit), naming the pattern; on_match's first error stops the search.
  Status FindAll(std::string_view text, FunctionRef<Status(size_t, size_t)> on_match) const;

  // True when the pattern matches somewhere in `text`; errors as FindAll.
  StatusOr<bool> Search(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  Regex(std::string pattern, std::shared_ptr<const Code> code);
  // The first match at or after `start` as [begin, end); false when there is none.
  StatusOr<bool> MatchFrom(std::string_view text, size_t start, size_t& begin, size_t& end) const;

  std::string pattern_;
  std::shared_ptr<const Code> code_;
};

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_REGEX_H_
