// Tokenizer: text to token ids and back, the interface every role uses whatever the model's
// tokenizer (HfTokenizer in hf_tokenizer.h loads a Hugging Face tokenizer.json).
//
// Thread-safety: every method is const and may run from many threads at once.
#ifndef LIGHTRL_TOKENIZER_TOKENIZER_H_
#define LIGHTRL_TOKENIZER_TOKENIZER_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/token_id.h"

namespace lightrl {

class Tokenizer {
 public:
  // A token that Decode leaves out with skip_special_tokens (BOS, EOS, chat markers...).
  struct SpecialToken {
    std::string content;
    TokenId id;
  };

  virtual ~Tokenizer() = default;

  // The ids of `text`, with the tokenizer's special tokens around them (e.g. BOS) when
  // `add_special_tokens`. Special tokens written in the text are recognized. Bytes that are not
  // UTF-8 are read as U+FFFD, one per maximal ill-formed sequence. ResourceExhausted when a
  // regex gives up on pathological input.
  virtual StatusOr<std::vector<TokenId>> Encode(std::string_view text,
                                                bool add_special_tokens) const = 0;

  // The text of `ids`; special tokens are left out when `skip_special_tokens`. InvalidArgument
  // names the first id that is not in the vocabulary and its position.
  virtual StatusOr<std::string> Decode(std::span<const TokenId> ids,
                                       bool skip_special_tokens) const = 0;

  // One more than the largest id: the rows a model's embedding needs at least.
  virtual TokenId VocabSize() const = 0;
  // The id of a token's text (as the vocabulary writes it); NotFound otherwise.
  virtual StatusOr<TokenId> TokenToId(std::string_view token) const = 0;
  // The text of an id (as the vocabulary writes it); NotFound otherwise.
  virtual StatusOr<std::string> IdToToken(TokenId id) const = 0;
  // The special tokens, ordered by id.
  virtual std::vector<SpecialToken> SpecialTokens() const = 0;
};

}  // namespace lightrl

#endif  // LIGHTRL_TOKENIZER_TOKENIZER_H_
