#include "core/tokenizer.h"

#include <array>

namespace lightrl {
namespace {

constexpr std::array<std::string_view, ByteTokenizer::kVocabSize - 256> kSpecialNames = {
    "<|bos|>",   "<|eos|>",    "<|pad|>",    "<|sep|>",
    "<|think|>", "<|/think|>", "<|answer|>", "<|/answer|>"};

Status OutOfRange(int32_t id, size_t position) {
  return InvalidArgumentError("token id " + std::to_string(id) + " at position " +
                              std::to_string(position) + " is outside the vocabulary [0, " +
                              std::to_string(ByteTokenizer::kVocabSize) + ")");
}

}  // namespace

std::vector<int32_t> ByteTokenizer::Encode(std::string_view text) {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (char c : text) ids.push_back(static_cast<unsigned char>(c));
  return ids;
}

Status ByteTokenizer::Validate(std::span<const int32_t> ids) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= kVocabSize) return OutOfRange(ids[i], i);
  }
  return Status::Ok();
}

StatusOr<std::string> ByteTokenizer::Decode(std::span<const int32_t> ids) {
  RETURN_IF_ERROR(Validate(ids));
  std::string text;
  for (int32_t id : ids) {
    if (id < 256) {
      text.push_back(static_cast<char>(id));
    } else {
      text += kSpecialNames[id - 256];
    }
  }
  return text;
}

StatusOr<std::string> ByteTokenizer::TokenText(int32_t id) {
  const int32_t one[] = {id};
  return Decode(one);
}

StatusOr<int32_t> ByteTokenizer::SpecialId(std::string_view name) {
  for (size_t i = 0; i < kSpecialNames.size(); ++i) {
    if (kSpecialNames[i] == name) return static_cast<int32_t>(256 + i);
  }
  return NotFoundError("no special token named \"" + std::string(name) + "\"");
}

std::vector<int32_t> ByteTokenizer::EncodePrompt(std::string_view prompt) {
  std::vector<int32_t> tokens = {kBos};
  std::vector<int32_t> bytes = Encode(prompt);
  tokens.insert(tokens.end(), bytes.begin(), bytes.end());
  return tokens;
}

StatusOr<std::string> ByteTokenizer::DecodeCompletion(std::span<const int32_t> completion) {
  if (!completion.empty() && completion.back() == kEos) {
    completion = completion.first(completion.size() - 1);
  }
  return Decode(completion);
}

}  // namespace lightrl
