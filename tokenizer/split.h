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

// Receives spans in text order; an error stops the walk and is returned.
using SpanSink = FunctionRef<Status(Span)>;

// A literal string or an (Oniguruma) regex, as in {"String": " "} or {"Regex": "\\s+"}.
class Pattern {
 public:
  // Loads {"String": s} or {"Regex": r}; an empty pattern is refused.
  static StatusOr<Pattern> Load(const JsonNode& node);
  static Pattern Literal(std::string text);
  static Pattern FromRegex(Regex regex);

  // Calls `sink` on each span that tiles `text`: the matches, left to right and not
  // overlapping, and the non-empty gaps between them. Errors: Regex::FindAll's, or sink's.
  Status ForEachSpan(std::string_view text, SpanSink sink) const;

  // Writes `text` to `out` with every match replaced by `content`; errors as ForEachSpan.
  Status Replace(std::string_view text, std::string_view content, std::string& out) const;

 private:
  Pattern(std::string literal, std::optional<Regex> regex);

  std::string literal_;
  std::optional<Regex> regex_;
};

// Calls `sink` on the spans of `text` where each character for which is_match(c) holds is a
// match of its own (the Rust library's pattern for a `Fn(char) -> bool`).
Status ForEachCharSpan(std::string_view text, bool (*is_match)(char32_t), SpanSink sink);

// Turns the spans of a text, added in order, into the pieces of a split behaviour: calls
// emit(begin, end) for each non-empty piece, left to right, as soon as it is final. The pieces
// are those of the Rust library's NormalizedString::split. Add and Finish return emit's first
// error. `emit` is referenced, not copied: it must outlive the splitter.
class SpanSplitter {
 public:
  SpanSplitter(SplitBehavior behavior, FunctionRef<Status(size_t, size_t)> emit)
      : behavior_(behavior), emit_(emit) {}

  Status Add(Span span);
  // Emits what is still held; call once, after the last span.
  Status Finish();

 private:
  Status Emit(const Span& piece) const {
    return piece.end > piece.begin ? emit_(piece.begin, piece.end) : Status::Ok();
  }
  // Emits the held piece, if any, and holds `next` instead.
  Status Replace(const Span& next);

  SplitBehavior behavior_;
  FunctionRef<Status(size_t, size_t)> emit_;
  bool holding_ = false;  // Whether held_ is a piece not emitted yet.
  Span held_{0, 0, false};
  bool previous_match_ = false;
};

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_SPLIT_H_
