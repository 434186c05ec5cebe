// Splitting text on a pattern, as the Rust library's NormalizedString::split does: the pattern
// tiles the text into spans (matches and the gaps between them), then a behaviour decides what
// becomes of the matches. Used by the Split, Digits, Punctuation, WhitespaceSplit and Metaspace
// pre-tokenizers and by the Replace normalizer and decoder.
//
// Thread-safety: Pattern is immutable after loading; all functions may run concurrently.
#ifndef LIGHTRL_TOKENIZER_SPLIT_H_
#define LIGHTRL_TOKENIZER_SPLIT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/function_ref.h"
#include "tokenizer/json_node.h"
#include "tokenizer/regex.h"

namespace lightrl::tokenizer {

// A piece of a text: [begin, end), and whether the pattern matched it.
struct Span {
  size_t begin;
  size_t end;
  bool is_match;
};

// What happens to each match (the JSON "behavior" names).
enum class SplitBehavior {
  kRemoved,             // dropped
  kIsolated,            // a piece of its own
  kMergedWithPrevious,  // appended to the piece before it
  kMergedWithNext,      // prepended to the piece after it
  kContiguous,          // consecutive matches form one piece
};

// Parses a "behavior" value ("Isolated", ...); the error names the node.
StatusOr<SplitBehavior> ParseSplitBehavior(const JsonNode& node);

// A literal string or an (Oniguruma) regex, as in {"String": " "} or {"Regex": "\\s+"}.
class Pattern {
 public:
  // Loads {"String": s} or {"Regex": r}; an empty pattern is refused.
  static StatusOr<Pattern> Load(const JsonNode& node);
  static Pattern Literal(std::string text);
  static Pattern FromRegex(Regex regex);

  // Replaces `spans` with the spans that tile `text` (non-empty): the matches, left to right
  // and not overlapping, and the non-empty gaps between them. Errors as Regex::FindAll.
  Status FindSpans(std::string_view text, std::vector<Span>& spans) const;

  // Writes `text` to `out` with every match replaced by `content`; errors as FindSpans.
  Status Replace(std::string_view text, std::string_view content, std::string& out) const;

 private:
  Pattern(std::string literal, std::optional<Regex> regex);

  std::string literal_;
  std::optional<Regex> regex_;
};

// Replaces `spans` with the spans of `text` where each character for which is_match(c) holds
// is a match of its own (the Rust library's pattern for a `Fn(char) -> bool`).
void FindCharSpans(std::string_view text, bool (*is_match)(char32_t), std::vector<Span>& spans);

// Flips every span's is_match (the Split pre-tokenizer's `invert`).
void InvertSpans(std::vector<Span>& spans);

// Applies `behavior` to `spans` and calls emit(begin, end) for each resulting non-empty piece,
// left to right. Stops at, and returns, the first error emit returns.
Status SplitSpans(const std::vector<Span>& spans, SplitBehavior behavior,
                  FunctionRef<Status(size_t, size_t)> emit);

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_SPLIT_H_
