#include "tokenizer/unicode.h"

#include <utf8proc.h>

namespace lightrl::tokenizer {
namespace {

// The length of the well-formed UTF-8 sequence at text[pos], or 0 when it is ill-formed; then
// `bad` is the length of its maximal ill-formed prefix (the bytes one U+FFFD replaces).
size_t WellFormedLength(std::string_view text, size_t pos, size_t& bad) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  bad = 1;
  if (lead < 0x80) return 1;
  size_t need;
  unsigned char low = 0x80, high = 0xBF;  // The allowed range of the second byte.
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) low = 0xA0;   // No overlong forms.
    if (lead == 0xED) high = 0x9F;  // No surrogates.
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) low = 0x90;   // No overlong forms.
    if (lead == 0xF4) high = 0x8F;  // Nothing above U+10FFFF.
  } else {
    return 0;
  }
  for (size_t i = 1; i < need; ++i) {
    if (pos + i >= text.size()) return 0;
    const unsigned char b = byte(i);
    if (i == 1 ? (b < low || b > high) : (b < 0x80 || b > 0xBF)) return 0;
    bad = i + 1;
  }
  return need;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  size_t pos = 0, bad = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const size_t n = WellFormedLength(text, pos, bad);
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

std::string ToValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0, bad = 0;
  while (pos < text.size()) {
    const size_t n = WellFormedLength(text, pos, bad);
    if (n == 0) {
      out += kReplacementChar;
      pos += bad;
    } else {
      out.append(text.substr(pos, n));
      pos += n;
    }
  }
  return out;
}

char32_t NextCodePoint(std::string_view text, size_t& pos) {
  const auto b = [&](size_t i) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[i]));
  };
  const char32_t lead = b(pos);
  if (lead < 0x80) {
    pos += 1;
    return lead;
  }
  if (lead < 0xE0) {
    const char32_t c = ((lead & 0x1F) << 6) | (b(pos + 1) & 0x3F);
    pos += 2;
    return c;
  }
  if (lead < 0xF0) {
    const char32_t c = ((lead & 0x0F) << 12) | ((b(pos + 1) & 0x3F) << 6) | (b(pos + 2) & 0x3F);
    pos += 3;
    return c;
  }
  const char32_t c = ((lead & 0x07) << 18) | ((b(pos + 1) & 0x3F) << 12) |
                     ((b(pos + 2) & 0x3F) << 6) | (b(pos + 3) & 0x3F);
  pos += 4;
  return c;
}

char32_t PreviousCodePoint(std::string_view text, size_t& end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  size_t pos = start;
  const char32_t c = NextCodePoint(text, pos);
  end = start;
  return c;
}

void AppendUtf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool IsNfcInert(char32_t c) {
  struct Range {
    char32_t first, last;
  };
  static constexpr Range kRanges[] = {
      {0x0000, 0x02FF},    // Latin; combining marks start at U+0300.
      {0x0400, 0x0482},    // Cyrillic, without its combining marks U+0483-U+0489...
      {0x048A, 0x052F},    // ...
      {0x2002, 0x206F},    // General punctuation (U+2000 and U+2001 decompose).
      {0x3000, 0x3029},    // CJK symbols, without the tone marks U+302A-U+302F...
      {0x3030, 0x303F},    // ...
      {0x3041, 0x3096},    // Hiragana (the sound marks U+3099 and U+309A combine).
      {0x30A1, 0x30FA},    // Katakana.
      {0x3131, 0x318E},    // Hangul compatibility jamo.
      {0x3400, 0x4DBF},    // CJK extension A.
      {0x4E00, 0x9FFF},    // CJK unified ideographs.
      {0xAC00, 0xD7A3},    // Hangul syllables (the conjoining jamo they compose with are not here).
      {0xFE00, 0xFE0F},    // Variation selectors.
      {0xFF01, 0xFF9D},    // Fullwidth and halfwidth forms.
      {0x1F000, 0x1FAFF},  // Emoji and other pictographs.
  };
  for (const Range& range : kRanges) {
    if (c < range.first) return false;
    if (c <= range.last) return true;
  }
  return false;
}

bool IsWhiteSpace(char32_t c) {
  switch (c) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool IsNumeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  const utf8proc_category_t cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

bool IsPunctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
  }
  const utf8proc_category_t cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

}  // namespace lightrl::tokenizer
