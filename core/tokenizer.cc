#include "core/tokenizer.h"

#include <array>

namespace lightrl {
namespace {

constexpr std::array<std::string_view, ByteTokenizer::kVocabSize - 256> kSpecialNames = {
    "<|bos|>",   "<|eos|>",    "<|pad|>",    "<|sep|>",
    "<|think|>", "<|/think|>", "<|answer|>", "<|/answer|>"};

Status OutOfRange(TokenId id, size_t position) {
  return InvalidArgumentError("token id " + std::to_string(id) + " at position " +
                              std::to_string(position) + " is outside the vocabulary [0, " +
                              std::to_string(ByteTokenizer::kVocabSize) + ")");
}

}  // namespace

std::vector<TokenId> ByteTokenizer::Encode(std::string_view text) {
  std::vector<TokenId> ids;
  ids.reserve(text.size());
  for (char c : text) ids.push_back(static_cast<unsigned char>(c));
  return ids;
}

Status ByteTokenizer::Validate(std::span<const TokenId> ids) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= kVocabSize) return OutOfRange(ids[i], i);
  }
  return Status::Ok();
}

StatusOr<std::string> ByteTokenizer::Decode(std::span<const TokenId> ids) {
  RETURN_IF_ERROR(Validate(ids));
  std::string text;
  for (TokenId id : ids) {
    if (id < 256) {
      text.push_back(static_cast<char>(id));
    } else {
      text += kSpecialNames[id - 256];
    }
  }
  return text;
}

StatusOr<std::string> ByteTokenizer::TokenText(TokenId id) {
  const TokenId one[] = {id};
  return Decode(one);
}

StatusOr<TokenId> ByteTokenizer::SpecialId(std::string_view name) {
  for (size_t i = 0; i < kSpecialNames.size(); ++i) {
    if (kSpecialNames[i] == name) return static_cast<TokenId>(256 + i);
  }
  return NotFoundError("no special token named \"" + std::string(name) + "\"");
}

std::vector<TokenId> ByteTokenizer::EncodePrompt(std::string_view prompt) {
  std::vector<TokenId> tokens = {kBos};
  std::vector<TokenId> bytes = Encode(prompt);
  tokens.insert(tokens.end(), bytes.begin(), bytes.end());
  return tokens;
}

StatusOr<std::string> ByteTokenizer::DecodeCompletion(std::span<const TokenId> completion) {
  if (!completion.empty() && completion.back() == kEos) {
    completion = completion.first(completion.size() - 1);
  }
  return Decode(completion);
}

}  // namespace lightrl
