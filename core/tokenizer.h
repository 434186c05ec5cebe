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

namespace lightrl {

class ByteTokenizer {
 public:
  static constexpr int32_t kBos = 256;
  static constexpr int32_t kEos = 257;
  static constexpr int32_t kPad = 258;
  static constexpr int32_t kSep = 259;
  static constexpr int32_t kThink = 260;
  static constexpr int32_t kEndThink = 261;
  static constexpr int32_t kAnswer = 262;
  static constexpr int32_t kEndAnswer = 263;
  static constexpr int32_t kVocabSize = 264;

  // One byte token per byte of `text`.
  static std::vector<int32_t> Encode(std::string_view text);

  // The text of `ids`; specials as their names. InvalidArgument names the first id outside
  // [0, kVocabSize) and its position.
  static StatusOr<std::string> Decode(std::span<const int32_t> ids);

  // The text of one token (a byte, or a special's name). InvalidArgument if out of range.
  static StatusOr<std::string> TokenText(int32_t id);

  // The id of a special token name such as "<|eos|>"; NotFound otherwise.
  static StatusOr<int32_t> SpecialId(std::string_view name);

  // Checks that every id is in [0, kVocabSize); the error names the first bad one.
  static Status Validate(std::span<const int32_t> ids);

  // The prompt convention of every lightrl process: <|bos|> followed by the prompt's bytes.
  static std::vector<int32_t> EncodePrompt(std::string_view prompt);
  // The text of a completion without its final <|eos|> (if any); errors as Decode.
  static StatusOr<std::string> DecodeCompletion(std::span<const int32_t> completion);
};

}  // namespace lightrl

#endif  // LIGHTRL_CORE_TOKENIZER_H_
