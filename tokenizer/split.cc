#include "tokenizer/split.h"

#include <algorithm>
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

Status Pattern::FindSpans(std::string_view text, std::vector<Span>& spans) const {
  spans.clear();
  size_t previous = 0;
  const auto on_match = [&](size_t begin, size_t end) {
    if (begin > previous) spans.push_back({previous, begin, false});
    spans.push_back({begin, end, true});
    previous = end;
  };
  if (regex_) {
    RETURN_IF_ERROR(regex_->FindAll(text, on_match));
  } else {
    for (size_t at = text.find(literal_); at != std::string_view::npos;
         at = text.find(literal_, at + literal_.size())) {
      on_match(at, at + literal_.size());
    }
  }
  if (previous < text.size()) spans.push_back({previous, text.size(), false});
  return Status::Ok();
}

Status Pattern::Replace(std::string_view text, std::string_view content, std::string& out) const {
  std::vector<Span> spans;
  RETURN_IF_ERROR(FindSpans(text, spans));
  out.clear();
  for (const Span& span : spans) {
    if (span.is_match) {
      out += content;
    } else {
      out += text.substr(span.begin, span.end - span.begin);
    }
  }
  return Status::Ok();
}

void FindCharSpans(std::string_view text, bool (*is_match)(char32_t), std::vector<Span>& spans) {
  spans.clear();
  size_t previous = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t begin = pos;
    if (!is_match(NextCodePoint(text, pos))) continue;
    if (begin > previous) spans.push_back({previous, begin, false});
    spans.push_back({begin, pos, true});
    previous = pos;
  }
  if (previous < text.size()) spans.push_back({previous, text.size(), false});
}

void InvertSpans(std::vector<Span>& spans) {
  for (Span& span : spans) span.is_match = !span.is_match;
}

Status SplitSpans(const std::vector<Span>& spans, SplitBehavior behavior,
                  FunctionRef<Status(size_t, size_t)> emit) {
  std::vector<Span> pieces;
  pieces.reserve(spans.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      pieces = spans;
      break;
    case SplitBehavior::kRemoved:
      for (const Span& span : spans) {
        if (!span.is_match) pieces.push_back(span);
      }
      break;
    case SplitBehavior::kContiguous:
      for (const Span& span : spans) {
        if (span.is_match == previous_match && !pieces.empty()) {
          pieces.back().end = span.end;
        } else {
          pieces.push_back(span);
        }
        previous_match = span.is_match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Span& span : spans) {
        if (span.is_match && !previous_match && !pieces.empty()) {
          pieces.back().end = span.end;
        } else {
          pieces.push_back(span);
        }
        previous_match = span.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) {
          pieces.back().begin = it->begin;
        } else {
          pieces.push_back(*it);
        }
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
  }
  for (const Span& piece : pieces) {
    if (piece.end > piece.begin) RETURN_IF_ERROR(emit(piece.begin, piece.end));
  }
  return Status::Ok();
}

}  // namespace lightrl::tokenizer
