// UTF-8 and the Unicode character classes the tokenizer components need, with the same
// definitions as the Rust `tokenizers` library (and Rust's `char` methods).
//
// Every function is pure and thread-safe. Text passed to the decoding helpers must be valid
// UTF-8 (ToValidUtf8 makes it so); they do not check.
#ifndef LIGHTRL_TOKENIZER_UNICODE_H_
#define LIGHTRL_TOKENIZER_UNICODE_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace lightrl::tokenizer {

// U+FFFD, the replacement character, in UTF-8.
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// True when `text` is well-formed UTF-8 (no surrogates, no overlong forms, <= U+10FFFF).
bool IsValidUtf8(std::string_view text);

// `text` with every maximal ill-formed subsequence replaced by one U+FFFD: the result of Rust's
// String::from_utf8_lossy and of the WHATWG UTF-8 decoder (JavaScript's TextDecoder) on the
// same bytes. Valid text comes back unchanged.
std::string ToValidUtf8(std::string_view text);

// The byte length of the UTF-8 sequence that starts with `lead` (1 for a continuation byte).
inline size_t Utf8Length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? (lead < 0xC0 ? 1 : 2) : lead < 0xF0 ? 3 : 4;
}

// The code point that starts at text[pos] (valid UTF-8); advances `pos` past it.
char32_t NextCodePoint(std::string_view text, size_t& pos);

// The code point that ends just before text[end] (valid UTF-8, end > 0); moves `end` to its
// first byte.
char32_t PreviousCodePoint(std::string_view text, size_t& end);

// Appends `c` in UTF-8.
void AppendUtf8(char32_t c, std::string& out);

// True for characters that NFC leaves as they are wherever they stand (canonical combining class
// 0, NFC_Quick_Check Yes, never the second character of a composition): a conservative list of
// ranges covering ASCII and Latin, Cyrillic, general punctuation, CJK, kana, Hangul syllables
// and emoji. Text made only of them is in NFC.
bool IsNfcInert(char32_t c);

// Rust's char::is_whitespace: the White_Space property.
bool IsWhiteSpace(char32_t c);
// Rust's char::is_numeric: general category Nd, Nl or No.
bool IsNumeric(char32_t c);
// The Punctuation pre-tokenizer's test: ASCII punctuation or general category P*.
bool IsPunctuation(char32_t c);

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_UNICODE_H_
