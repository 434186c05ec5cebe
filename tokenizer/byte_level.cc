#include "tokenizer/byte_level.h"

#include <array>
#include <string>

#include "tokenizer/unicode.h"

namespace lightrl::tokenizer {
namespace {

bool StandsForItself(int byte) {
  return (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || (byte >= 174);
}

// The code point of each byte's character.
std::array<char32_t, 256> BuildCodePoints() {
  std::array<char32_t, 256> code_points{};
  char32_t next = 256;
  for (int byte = 0; byte < 256; ++byte) {
    code_points[byte] = StandsForItself(byte) ? static_cast<char32_t>(byte) : next++;
  }
  return code_points;
}

const std::array<char32_t, 256>& CodePoints() {
  static const std::array<char32_t, 256> code_points = BuildCodePoints();
  return code_points;
}

}  // namespace

size_t MapToByteLevel(std::string_view text, char* out) {
  // The UTF-8 form of each byte's character: one byte or two.
  struct Utf8 {
    char bytes[2];
    uint8_t size;
  };
  static const std::array<Utf8, 256> table = [] {
    std::array<Utf8, 256> built{};
    for (int byte = 0; byte < 256; ++byte) {
      std::string utf8;
      AppendUtf8(CodePoints()[byte], utf8);
      built[byte] = {{utf8[0], utf8.size() > 1 ? utf8[1] : '\0'},
                     static_cast<uint8_t>(utf8.size())};
    }
    return built;
  }();
  char* next = out;
  for (const char c : text) {
    const Utf8& mapped = table[static_cast<uint8_t>(c)];
    next[0] = mapped.bytes[0];
    next[1] = mapped.bytes[1];  // Overwritten by the next character when the size is 1.
    next += mapped.size;
  }
  return static_cast<size_t>(next - out);
}

std::optional<uint8_t> ByteOfByteLevelChar(char32_t c) {
  // Every character of the alphabet is below U+0100 + 68 (the bytes that do not stand for
  // themselves).
  static const std::array<int16_t, 512> bytes = [] {
    std::array<int16_t, 512> built;
    built.fill(-1);
    for (int byte = 0; byte < 256; ++byte) built[CodePoints()[byte]] = static_cast<int16_t>(byte);
    return built;
  }();
  if (c >= bytes.size() || bytes[c] < 0) return std::nullopt;
  return static_cast<uint8_t>(bytes[c]);
}

}  // namespace lightrl::tokenizer
