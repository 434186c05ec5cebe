#include "tokenizer/split.h"

#include <utility>

#include "tokenizer/unicode.h"

namespace lightrl::tokenizer {

StatusOr<SplitBehavior> ParseSplitBehavior(const JsonNode& node) {
  ASSIGN_OR_RETURN(const std::string name, node.AsString());
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return node.Error("unknown behavior \"" + name + "\"");
}

Pattern::Pattern(std::string literal, std::optional<Regex> regex)
    : literal_(std::move(literal)), regex_(std::move(regex)) {}

Pattern Pattern::Literal(std::string text) { return Pattern(std::move(text), std::nullopt); }

Pattern Pattern::FromRegex(Regex regex) { return Pattern(std::string(), std::move(regex)); }

StatusOr<Pattern> Pattern::Load(const JsonNode& node) {
  RETURN_IF_ERROR(node.CheckKeys({"String", "Regex"}));
  if (node.value().size() != 1) return node.Error("expected one of \"String\" or \"Regex\"");
  if (node.Has("String")) {
    ASSIGN_OR_RETURN(std::string text, node.String("String"));
    if (text.empty()) return node.Error("empty pattern");
    return Literal(std::move(text));
  }
  ASSIGN_OR_RETURN(const JsonNode regex_node, node.Child("Regex"));
  ASSIGN_OR_RETURN(const std::string source, regex_node.AsString());
  if (source.empty()) return regex_node.Error("empty pattern");
  auto regex = Regex::FromOniguruma(source);
  if (!regex.ok()) return regex_node.Error(regex.status().message());
  return FromRegex(std::move(regex).value());
}

Status Pattern::ForEachSpan(std::string_view text, SpanSink sink) const {
  size_t previous = 0;
  const auto on_match = [&](size_t begin, size_t end) {
    if (begin > previous) RETURN_IF_ERROR(sink({previous, begin, false}));
    previous = end;
    return sink({begin, end, true});
  };
  if (regex_) {
    RETURN_IF_ERROR(regex_->FindAll(text, on_match));
  } else {
    for (size_t at = text.find(literal_); at != std::string_view::npos;
         at = text.find(literal_, at + literal_.size())) {
      RETURN_IF_ERROR(on_match(at, at + literal_.size()));
    }
  }
  if (previous < text.size()) return sink({previous, text.size(), false});
  return Status::Ok();
}

Status Pattern::Replace(std::string_view text, std::string_view content, std::string& out) const {
  out.clear();
  return ForEachSpan(text, [&](Span span) {
    if (span.is_match) {
      out += content;
    } else {
      out += text.substr(span.begin, span.end - span.begin);
    }
    return Status::Ok();
  });
}

Status ForEachCharSpan(std::string_view text, bool (*is_match)(char32_t), SpanSink sink) {
  size_t previous = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t begin = pos;
    if (!is_match(NextCodePoint(text, pos))) continue;
    if (begin > previous) RETURN_IF_ERROR(sink({previous, begin, false}));
    RETURN_IF_ERROR(sink({begin, pos, true}));
    previous = pos;
  }
  if (previous < text.size()) return sink({previous, text.size(), false});
  return Status::Ok();
}

Status SpanSplitter::Replace(const Span& next) {
  if (holding_) RETURN_IF_ERROR(Emit(held_));
  holding_ = true;
  held_ = next;
  return Status::Ok();
}

Status SpanSplitter::Add(Span span) {
  const bool previous_match = previous_match_;
  previous_match_ = span.is_match;
  switch (behavior_) {
    case SplitBehavior::kIsolated:
      return Emit(span);
    case SplitBehavior::kRemoved:
      return span.is_match ? Status::Ok() : Emit(span);
    case SplitBehavior::kContiguous:
      // Consecutive spans of one kind form one piece.
      if (holding_ && span.is_match == previous_match) {
        held_.end = span.end;
        return Status::Ok();
      }
      return Replace(span);
    case SplitBehavior::kMergedWithPrevious:
      // A match right after a non-match ends the piece before it.
      if (holding_ && span.is_match && !previous_match) {
        held_.end = span.end;
        return Status::Ok();
      }
      return Replace(span);
    case SplitBehavior::kMergedWithNext:
      // A match waits for the next span: a non-match takes it in front, anything else leaves
      // it a piece of its own.
      if (holding_) {
        if (!span.is_match) {
          const Span merged{held_.begin, span.end, false};
          holding_ = false;
          return Emit(merged);
        }
        RETURN_IF_ERROR(Emit(held_));
        held_ = span;
        return Status::Ok();
      }
      if (span.is_match) {
        holding_ = true;
        held_ = span;
        return Status::Ok();
      }
      return Emit(span);
  }
  return Status::Ok();
}

Status SpanSplitter::Finish() {
  if (!holding_) return Status::Ok();
  holding_ = false;
  return Emit(held_);
}

}  // namespace lightrl::tokenizer
