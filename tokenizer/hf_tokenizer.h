// HfTokenizer: a tokenizer loaded from a Hugging Face tokenizer.json, equal to the Rust
// `tokenizers` library (0.23) token for token. The pipeline, as that library runs it:
//   1. added tokens are split out of the text (added_tokens.h);
//   2. each piece between them is normalized (normalizers.h), and searched again for the
//      added tokens that match normalized text;
//   3. each remaining piece is pre-tokenized into words (pre_tokenizers.h);
//   4. each word is encoded by the model (bpe.h: BPE is the model supported);
//   5. with add_special_tokens, the post-processor's special tokens go around the ids
//      (post_processors.h).
// Decode maps ids to their tokens and runs the decoder (decoders.h); without a decoder the
// tokens are joined with spaces. Truncation and padding must be null.
//
// Load errors are InvalidArgument (NotFound for a missing file) and name the file and the JSON
// path of the offending item, e.g. `tokenizer.json: pre_tokenizer.pretokenizers[1]: unknown
// pre-tokenizer type "Foo"`: a component or option this library does not implement is refused
// rather than approximated. Differences from the Rust library: Decode refuses an id outside the
// vocabulary (Rust skips it); Encode takes bytes, reading ill-formed UTF-8 as U+FFFD (the Rust
// API takes only valid strings; its bindings convert the same way). Unicode data come from
// PCRE2 (Unicode 14) and utf8proc, so characters assigned in later Unicode versions may split
// differently.
//
// Thread-safety: immutable once loaded; every method may run from many threads at once.
#ifndef LIGHTRL_TOKENIZER_HF_TOKENIZER_H_
#define LIGHTRL_TOKENIZER_HF_TOKENIZER_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/token_id.h"
#include "tokenizer/tokenizer.h"

namespace lightrl {
namespace tokenizer {
class AddedVocabulary;
class Bpe;
class Decoder;
class Normalizer;
class PreTokenizer;
struct SpecialTokenFrame;
}  // namespace tokenizer

class HfTokenizer : public Tokenizer {
 public:
  // Reads and loads `path` (errors name it).
  static StatusOr<std::unique_ptr<HfTokenizer>> FromFile(const std::string& path);
  // Loads the JSON text `json`; errors name `file` as its origin.
  static StatusOr<std::unique_ptr<HfTokenizer>> FromJson(std::string_view json,
                                                         const std::string& file);
  ~HfTokenizer() override;

  StatusOr<std::vector<TokenId>> Encode(std::string_view text,
                                        bool add_special_tokens) const override;
  StatusOr<std::string> Decode(std::span<const TokenId> ids,
                               bool skip_special_tokens) const override;
  TokenId VocabSize() const override;
  StatusOr<TokenId> TokenToId(std::string_view token) const override;
  StatusOr<std::string> IdToToken(TokenId id) const override;
  std::vector<SpecialToken> SpecialTokens() const override;

 private:
  HfTokenizer() = default;
  // Steps 2-4 for one piece between raw added tokens.
  Status EncodePiece(std::string_view piece, bool at_origin, std::vector<TokenId>& ids) const;
  // The text of `id`: an added token's text (added_tokens.h), else the model's token; nullptr
  // when neither.
  const std::string* TokenText(TokenId id) const;

  std::unique_ptr<tokenizer::Normalizer> normalizer_;
  std::unique_ptr<tokenizer::PreTokenizer> pre_tokenizer_;
  std::unique_ptr<tokenizer::Bpe> model_;
  std::unique_ptr<tokenizer::SpecialTokenFrame> frame_;
  std::unique_ptr<tokenizer::Decoder> decoder_;
  std::unique_ptr<tokenizer::AddedVocabulary> added_;
};

}  // namespace lightrl

#endif  // LIGHTRL_TOKENIZER_HF_TOKENIZER_H_
