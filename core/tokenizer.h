// Byte-level tokenizer: ids 0..255 are the bytes, then a few special tokens.
//
//   256 <|bos|>  257 <|eos|>  258 <|pad|>  259 <|sep|>
//   260 <|think|> 261 <|/think|> 262 <|answer|> 263 <|/answer|>
//
// Encode never produces special tokens (every byte of the text, including the bytes of
// "<|eos|>", is a byte token); callers add BOS/EOS explicitly. Decode renders a special
// token as its name. A model's vocab_size may be larger than kVocabSize (padding rows
// that no text maps to). Thread-safety: stateless, all functions are pure.
#ifndef LIGHTRL_CORE_TOKENIZER_H_
#define LIGHTRL_CORE_TOKENIZER_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/token_id.h"

namespace lightrl {

class ByteTokenizer {
 public:
  static constexpr TokenId kBos = 256;
  static constexpr TokenId kEos = 257;
  static constexpr TokenId kPad = 258;
  static constexpr TokenId kSep = 259;
  static constexpr TokenId kThink = 260;
  static constexpr TokenId kEndThink = 261;
  static constexpr TokenId kAnswer = 262;
  static constexpr TokenId kEndAnswer = 263;
  static constexpr TokenId kVocabSize = 264;

  // One byte token per byte of `text`.
  static std::vector<TokenId> Encode(std::string_view text);

  // The text of `ids`; specials as their names. InvalidArgument names the first id outside
  // [0, kVocabSize) and its position.
  static StatusOr<std::string> Decode(std::span<const TokenId> ids);

  // The text of one token (a byte, or a special's name). InvalidArgument if out of range.
  static StatusOr<std::string> TokenText(TokenId id);

  // The id of a special token name such as "<|eos|>"; NotFound otherwise.
  static StatusOr<TokenId> SpecialId(std::string_view name);

  // Checks that every id is in [0, kVocabSize); the error names the first bad one.
  static Status Validate(std::span<const TokenId> ids);

  // The prompt convention of every lightrl process: <|bos|> followed by the prompt's bytes.
  static std::vector<TokenId> EncodePrompt(std::string_view prompt);
  // The text of a completion without its final <|eos|> (if any); errors as Decode.
  static StatusOr<std::string> DecodeCompletion(std::span<const TokenId> completion);
};

}  // namespace lightrl

#endif  // LIGHTRL_CORE_TOKENIZER_H_
