#include "tokenizer/pre_tokenizers.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/byte_level.h"
#include "tokenizer/regex.h"
#include "tokenizer/split.h"
#include "tokenizer/unicode.h"

namespace lightrl::tokenizer {
namespace {

// GPT-2's pre-tokenization regex, which ByteLevel uses when "use_regex" is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// The Whitespace pre-tokenizer's `\w+|[^\w\s]+`, with the Rust regex crate's \w and \s.
constexpr std::string_view kWhitespacePattern =
    R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}]+)"
    R"(|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}\p{White_Space}]+)";

// Splits `text` on the spans that `for_each_span` gives (optionally inverted) by `behavior`,
// and calls sink on each piece.
template <typename ForEachSpan>
Status SplitText(std::string_view text, bool at_origin, SplitBehavior behavior, bool invert,
                 PieceSink sink, ForEachSpan&& for_each_span) {
  const auto emit = [&](size_t begin, size_t end) {
    return sink(text.substr(begin, end - begin), at_origin && begin == 0);
  };
  SpanSplitter splitter(behavior, emit);
  RETURN_IF_ERROR(for_each_span([&](Span span) {
    if (invert) span.is_match = !span.is_match;
    return splitter.Add(span);
  }));
  return splitter.Finish();
}

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, std::optional<Pattern> split)
      : add_prefix_space_(add_prefix_space), split_(std::move(split)) {}

  Status PreTokenize(std::string_view piece, bool at_origin, PieceSink sink) const override {
    std::string prefixed;
    if (add_prefix_space_ && piece.front() != ' ') {
      prefixed.reserve(piece.size() + 1);
      prefixed += ' ';
      prefixed += piece;
      piece = prefixed;
    }
    // Each byte becomes at most two; most words fit on the stack.
    char stack[256];
    std::string heap;
    const auto map = [&](std::string_view word, bool origin) {
      if (2 * word.size() <= sizeof(stack)) {
        return sink(std::string_view(stack, MapToByteLevel(word, stack)), origin);
      }
      heap.resize(2 * word.size());
      return sink(std::string_view(heap.data(), MapToByteLevel(word, heap.data())), origin);
    };
    if (!split_) return map(piece, at_origin);
    return SplitText(piece, at_origin, SplitBehavior::kIsolated, false, map,
                     [&](SpanSink on_span) { return split_->ForEachSpan(piece, on_span); });
  }

 private:
  bool add_prefix_space_;
  std::optional<Pattern> split_;
};

class Split : public PreTokenizer {
 public:
  Split(Pattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  Status PreTokenize(std::string_view piece, bool at_origin, PieceSink sink) const override {
    return SplitText(piece, at_origin, behavior_, invert_, sink,
                     [&](SpanSink on_span) { return pattern_.ForEachSpan(piece, on_span); });
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// Digits, WhitespaceSplit and Punctuation: each character that passes a test is a match.
class CharSplit : public PreTokenizer {
 public:
  CharSplit(bool (*is_match)(char32_t), SplitBehavior behavior)
      : is_match_(is_match), behavior_(behavior) {}

  Status PreTokenize(std::string_view piece, bool at_origin, PieceSink sink) const override {
    return SplitText(piece, at_origin, behavior_, false, sink,
                     [&](SpanSink on_span) { return ForEachCharSpan(piece, is_match_, on_span); });
  }

 private:
  bool (*is_match_)(char32_t);
  SplitBehavior behavior_;
};

enum class PrependScheme { kAlways, kNever, kFirst };

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)),
        scheme_(scheme),
        split_(split ? std::optional<Pattern>(Pattern::Literal(replacement_)) : std::nullopt) {}

  Status PreTokenize(std::string_view piece, bool at_origin, PieceSink sink) const override {
    std::string text;
    text.reserve(piece.size() + replacement_.size());
    const bool starts_with_space = piece.front() == ' ';
    if (!starts_with_space && !piece.starts_with(replacement_) &&
        (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && at_origin))) {
      text += replacement_;
    }
    for (const char c : piece) {
      if (c == ' ') {
        text += replacement_;
      } else {
        text += c;
      }
    }
    if (!split_) return sink(text, at_origin);
    return SplitText(text, at_origin, SplitBehavior::kMergedWithNext, false, sink,
                     [&](SpanSink on_span) { return split_->ForEachSpan(text, on_span); });
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  std::optional<Pattern> split_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> items) : items_(std::move(items)) {}

  Status PreTokenize(std::string_view piece, bool at_origin, PieceSink sink) const override {
    return RunFrom(0, piece, at_origin, sink);
  }

 private:
  // Each piece goes through the rest of the sequence before the next piece is made: the same
  // pieces, in the same order, as running each item over the whole list.
  Status RunFrom(size_t index, std::string_view piece, bool at_origin, PieceSink sink) const {
    if (index == items_.size()) return sink(piece, at_origin);
    return items_[index]->PreTokenize(piece, at_origin, [&](std::string_view next, bool origin) {
      return RunFrom(index + 1, next, origin, sink);
    });
  }

  std::vector<std::unique_ptr<PreTokenizer>> items_;
};

StatusOr<Pattern> CompiledPattern(const JsonNode& node, std::string_view pcre2_or_onig,
                                  bool oniguruma) {
  auto regex = oniguruma ? Regex::FromOniguruma(pcre2_or_onig) : Regex::FromPcre2(pcre2_or_onig);
  if (!regex.ok()) return node.Error(regex.status().message());
  return Pattern::FromRegex(std::move(regex).value());
}

StatusOr<std::unique_ptr<PreTokenizer>> LoadMetaspace(const JsonNode& node, bool origin_known) {
  RETURN_IF_ERROR(
      node.CheckKeys({"replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep"}));
  ASSIGN_OR_RETURN(const JsonNode replacement_node, node.Child("replacement"));
  ASSIGN_OR_RETURN(std::string replacement, replacement_node.AsString());
  size_t end = 0;
  if (replacement.empty() || !IsValidUtf8(replacement) ||
      (NextCodePoint(replacement, end), end != replacement.size())) {
    return replacement_node.Error("expected a single character");
  }
  ASSIGN_OR_RETURN(const std::string scheme_name, node.OptionalString("prepend_scheme", "always"));
  PrependScheme scheme;
  if (scheme_name == "always") {
    scheme = PrependScheme::kAlways;
  } else if (scheme_name == "never") {
    scheme = PrependScheme::kNever;
  } else if (scheme_name == "first") {
    scheme = PrependScheme::kFirst;
  } else {
    return node.Error("unknown prepend_scheme \"" + scheme_name + "\"");
  }
  ASSIGN_OR_RETURN(const bool add_prefix_space, node.OptionalBool("add_prefix_space", true));
  if (!add_prefix_space) {
    // The Rust library's rule for files written before prepend_scheme existed.
    if (scheme != PrependScheme::kNever) {
      return node.Error("add_prefix_space does not match declared prepend_scheme");
    }
  }
  if (scheme == PrependScheme::kFirst && !origin_known) {
    return node.Error(
        "prepend_scheme \"first\" is supported only as the first pre-tokenizer and without a "
        "normalizer");
  }
  ASSIGN_OR_RETURN(const bool split, node.OptionalBool("split", true));
  return std::unique_ptr<PreTokenizer>(
      std::make_unique<Metaspace>(std::move(replacement), scheme, split));
}

}  // namespace

StatusOr<std::unique_ptr<PreTokenizer>> LoadPreTokenizer(const JsonNode& node, bool origin_known) {
  RETURN_IF_ERROR(node.ExpectObject());
  ASSIGN_OR_RETURN(const std::string type, node.Type());
  if (type == "ByteLevel") {
    RETURN_IF_ERROR(node.CheckKeys({"add_prefix_space", "trim_offsets", "use_regex"}));
    ASSIGN_OR_RETURN(const bool add_prefix_space, node.OptionalBool("add_prefix_space", true));
    ASSIGN_OR_RETURN(const bool use_regex, node.OptionalBool("use_regex", true));
    std::optional<Pattern> split;
    if (use_regex) {
      ASSIGN_OR_RETURN(split, CompiledPattern(node, kGpt2Pattern, /*oniguruma=*/true));
    }
    return std::unique_ptr<PreTokenizer>(
        std::make_unique<ByteLevel>(add_prefix_space, std::move(split)));
  }
  if (type == "Split") {
    RETURN_IF_ERROR(node.CheckKeys({"pattern", "behavior", "invert"}));
    ASSIGN_OR_RETURN(const JsonNode pattern_node, node.Child("pattern"));
    ASSIGN_OR_RETURN(Pattern pattern, Pattern::Load(pattern_node));
    ASSIGN_OR_RETURN(const JsonNode behavior_node, node.Child("behavior"));
    ASSIGN_OR_RETURN(const SplitBehavior behavior, ParseSplitBehavior(behavior_node));
    ASSIGN_OR_RETURN(const bool invert, node.OptionalBool("invert", false));
    return std::unique_ptr<PreTokenizer>(
        std::make_unique<Split>(std::move(pattern), behavior, invert));
  }
  if (type == "Metaspace") return LoadMetaspace(node, origin_known);
  if (type == "Digits") {
    RETURN_IF_ERROR(node.CheckKeys({"individual_digits"}));
    ASSIGN_OR_RETURN(const bool individual, node.OptionalBool("individual_digits", false));
    return std::unique_ptr<PreTokenizer>(std::make_unique<CharSplit>(
        IsNumeric, individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous));
  }
  if (type == "Whitespace") {
    RETURN_IF_ERROR(node.CheckKeys({}));
    ASSIGN_OR_RETURN(Pattern pattern, CompiledPattern(node, kWhitespacePattern, false));
    // The regex's matches are the words; everything between them is dropped.
    return std::unique_ptr<PreTokenizer>(
        std::make_unique<Split>(std::move(pattern), SplitBehavior::kRemoved, /*invert=*/true));
  }
  if (type == "WhitespaceSplit") {
    RETURN_IF_ERROR(node.CheckKeys({}));
    return std::unique_ptr<PreTokenizer>(
        std::make_unique<CharSplit>(IsWhiteSpace, SplitBehavior::kRemoved));
  }
  if (type == "Punctuation") {
    RETURN_IF_ERROR(node.CheckKeys({"behavior"}));
    SplitBehavior behavior = SplitBehavior::kIsolated;
    const JsonNode behavior_node = node.ChildOrNull("behavior");
    if (!behavior_node.IsNull()) {
      ASSIGN_OR_RETURN(behavior, ParseSplitBehavior(behavior_node));
    }
    return std::unique_ptr<PreTokenizer>(std::make_unique<CharSplit>(IsPunctuation, behavior));
  }
  if (type == "Sequence") {
    RETURN_IF_ERROR(node.CheckKeys({"pretokenizers"}));
    ASSIGN_OR_RETURN(const JsonNode list, node.Child("pretokenizers"));
    ASSIGN_OR_RETURN(const size_t size, list.ArraySize());
    std::vector<std::unique_ptr<PreTokenizer>> items;
    for (size_t i = 0; i < size; ++i) {
      ASSIGN_OR_RETURN(auto item, LoadPreTokenizer(list.Element(i), origin_known && i == 0));
      items.push_back(std::move(item));
    }
    return std::unique_ptr<PreTokenizer>(std::make_unique<Sequence>(std::move(items)));
  }
  return node.Error("unknown pre-tokenizer type \"" + type + "\"");
}

}  // namespace lightrl::tokenizer
