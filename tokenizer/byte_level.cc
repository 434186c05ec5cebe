#include "tokenizer/byte_level.h"

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

const std::array<std::string, 256>& ByteLevelChars() {
  static const std::array<std::string, 256> chars = [] {
    std::array<std::string, 256> built;
    for (int byte = 0; byte < 256; ++byte) AppendUtf8(CodePoints()[byte], built[byte]);
    return built;
  }();
  return chars;
}

void AppendByteLevel(std::string_view text, std::string& out) {
  const std::array<std::string, 256>& chars = ByteLevelChars();
  for (const char c : text) out += chars[static_cast<uint8_t>(c)];
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
