#include "tokenizer/jinja_text.h"

#include <algorithm>
#include <cstdint>

namespace lightrl::jinja {
namespace {

// The length of the UTF-8 sequence starting at `text[i]`; 1 for an invalid one.
size_t SequenceLength(std::string_view text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xE  ? 3
                  : (lead >> 3) == 0x1E ? 4
                                        : 1;
  if (i + length > text.size()) return 1;
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 1;
  }
  return length;
}

bool IsWhitespace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool IsLineBreak(uint32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) ||
         c == 0x85 || c == 0x2028 || c == 0x2029;
}

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::vector<std::string_view> CodePoints(std::string_view text) {
  std::vector<std::string_view> points;
  for (size_t i = 0; i < text.size();) {
    const size_t length = SequenceLength(text, i);
    points.push_back(text.substr(i, length));
    i += length;
  }
  return points;
}

uint32_t DecodeCodePoint(std::string_view cp) {
  const auto lead = static_cast<unsigned char>(cp[0]);
  if (cp.size() == 1) return lead;
  uint32_t value = lead & (0xFF >> (cp.size() + 1));
  for (size_t k = 1; k < cp.size(); ++k) value = (value << 6) | (cp[k] & 0x3F);
  return value;
}

std::string EncodeCodePoint(uint32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

size_t CodePointCount(std::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); i += SequenceLength(text, i)) ++count;
  return count;
}

std::string Strip(std::string_view text, const std::optional<std::string>& chars, bool left,
                  bool right) {
  const std::vector<std::string_view> points = CodePoints(text);
  std::vector<std::string_view> set;
  if (chars) set = CodePoints(*chars);
  auto strippable = [&](std::string_view cp) {
    return chars ? std::find(set.begin(), set.end(), cp) != set.end()
                 : IsWhitespace(DecodeCodePoint(cp));
  };
  size_t begin = 0;
  size_t end = points.size();
  while (left && begin < end && strippable(points[begin])) ++begin;
  while (right && end > begin && strippable(points[end - 1])) --end;
  std::string out;
  for (size_t i = begin; i < end; ++i) out += points[i];
  return out;
}

std::vector<std::string> Split(std::string_view text, const std::optional<std::string>& separator,
                               int64_t max_splits) {
  std::vector<std::string> parts;
  if (separator) {
    size_t start = 0;
    while (max_splits < 0 || static_cast<int64_t>(parts.size()) < max_splits) {
      const size_t found = text.find(*separator, start);
      if (found == std::string_view::npos) break;
      parts.emplace_back(text.substr(start, found - start));
      start = found + separator->size();
    }
    parts.emplace_back(text.substr(start));
    return parts;
  }
  const std::vector<std::string_view> points = CodePoints(text);
  size_t i = 0;
  while (true) {
    while (i < points.size() && IsWhitespace(DecodeCodePoint(points[i]))) ++i;
    if (i == points.size()) break;
    std::string word;
    if (max_splits >= 0 && static_cast<int64_t>(parts.size()) == max_splits) {
      // The rest, trailing whitespace stripped, is the last part.
      for (size_t k = i; k < points.size(); ++k) word += points[k];
      parts.push_back(Strip(word, std::nullopt, false, true));
      break;
    }
    while (i < points.size() && !IsWhitespace(DecodeCodePoint(points[i]))) word += points[i++];
    parts.push_back(std::move(word));
  }
  return parts;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  std::string line;
  const std::vector<std::string_view> points = CodePoints(text);
  for (size_t i = 0; i < points.size(); ++i) {
    const uint32_t c = DecodeCodePoint(points[i]);
    if (!IsLineBreak(c)) {
      line += points[i];
      continue;
    }
    if (c == '\r' && i + 1 < points.size() && points[i + 1] == "\n") ++i;
    lines.push_back(std::move(line));
    line.clear();
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

std::string Replace(std::string_view text, std::string_view from, std::string_view to,
                    int64_t count) {
  std::string out;
  int64_t done = 0;
  if (from.empty()) {
    for (std::string_view cp : CodePoints(text)) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += cp;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t start = 0;
  while (count < 0 || done < count) {
    const size_t found = text.find(from, start);
    if (found == std::string_view::npos) break;
    out.append(text.substr(start, found - start)).append(to);
    start = found + from.size();
    ++done;
  }
  out.append(text.substr(start));
  return out;
}

bool HasNonAscii(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

std::string AsciiUpper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string AsciiTitle(std::string_view text) {
  std::string out(text);
  bool previous_letter = false;
  for (char& c : out) {
    const bool letter = IsAsciiLetter(c);
    if (letter) {
      c = previous_letter ? AsciiLower(std::string(1, c))[0] : AsciiUpper(std::string(1, c))[0];
    }
    previous_letter = letter;
  }
  return out;
}

}  // namespace lightrl::jinja
