// The byte-level alphabet of GPT-2: every byte as one printable character, so that any text is
// a string of vocabulary symbols. Bytes 33-126, 161-172 and 174-255 stand for themselves; the
// others (controls, space, DEL, NBSP, soft hyphen) become U+0100 onwards, in byte order.
//
// Thread-safety: the tables are built once, thread-safely, and never change.
#ifndef LIGHTRL_TOKENIZER_BYTE_LEVEL_H_
#define LIGHTRL_TOKENIZER_BYTE_LEVEL_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace lightrl::tokenizer {

// Writes the byte-level form of `text` (each byte's character) to `out`, which has room for
// 2 * text.size() bytes; returns the bytes written.
size_t MapToByteLevel(std::string_view text, char* out);

// The byte a byte-level character stands for; nullopt for any other character.
std::optional<uint8_t> ByteOfByteLevelChar(char32_t c);

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_BYTE_LEVEL_H_
