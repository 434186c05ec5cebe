// Python's string operations on UTF-8 text, as the Jinja interpreter needs them: code points,
// whitespace (Unicode's, as str.strip uses it), strip, split, splitlines and ASCII case mapping.
//
// Thread-safety: pure functions.
#ifndef LIGHTRL_TOKENIZER_JINJA_TEXT_H_
#define LIGHTRL_TOKENIZER_JINJA_TEXT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lightrl::jinja {

// The code points of `text`, each as its UTF-8 bytes (an invalid byte stands alone).
std::vector<std::string_view> CodePoints(std::string_view text);
// The value of one code point CodePoints returned (an invalid byte is its own value).
uint32_t DecodeCodePoint(std::string_view code_point);
// The UTF-8 bytes of `code_point`.
std::string EncodeCodePoint(uint32_t code_point);
// The number of code points (Python's len).
size_t CodePointCount(std::string_view text);

// str.strip / lstrip / rstrip: without `chars`, Unicode whitespace; with it, any of its code
// points.
std::string Strip(std::string_view text, const std::optional<std::string>& chars, bool left,
                  bool right);

// str.split: without `separator`, runs of whitespace, ignoring leading and trailing ones; with
// it, every occurrence (an empty separator is the caller's error). `max_splits` < 0: no limit.
std::vector<std::string> Split(std::string_view text, const std::optional<std::string>& separator,
                               int64_t max_splits);

// str.splitlines() without keepends: breaks at \n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, U+2028
// and U+2029.
std::vector<std::string> SplitLines(std::string_view text);

// str.replace; an empty `from` inserts `to` around every code point. `count` < 0: all.
std::string Replace(std::string_view text, std::string_view from, std::string_view to,
                    int64_t count);

// True when `text` has a byte outside ASCII.
bool HasNonAscii(std::string_view text);
// ASCII case mapping; the caller rejects non-ASCII text, whose mapping is not implemented.
std::string AsciiUpper(std::string_view text);
std::string AsciiLower(std::string_view text);
// str.title(): the first letter of every run of letters upper-cased, the others lower-cased.
std::string AsciiTitle(std::string_view text);

}  // namespace lightrl::jinja

#endif  // LIGHTRL_TOKENIZER_JINJA_TEXT_H_
