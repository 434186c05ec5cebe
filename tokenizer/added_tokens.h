// Added tokens ("added_tokens" of tokenizer.json): strings matched in the text before the
// normalizer and pre-tokenizer run, each becoming its own id, exactly as the Rust library does.
//
// Matching: tokens with "normalized": false are found in the raw text; the pieces between them
// are normalized and searched again for the tokens with "normalized": true (whose contents are
// normalized the same way). In each search the leftmost match wins, the longest one among
// those starting there, and the search goes on after it. Then per token:
//   single_word  the match counts only without a word character (the regex crate's \w) just
//                before or after it in the same piece;
//   lstrip       White_Space just before it (not already taken) joins the token;
//   rstrip       White_Space just after it joins the token.
// "special" tokens are left out of Decode with skip_special_tokens. A token with
// "normalized": true decodes to its normalized content, which, when that differs from the
// content, is not recognized as special (the Rust library's behaviour).
//
// Ids: the Rust library gives a token found in the model's vocabulary that id, and every other
// token the next id after the vocabulary and the tokens before it, in file order, whatever id
// the file writes. A file whose ids differ from that (a gap, a collision, a repeated token) is a
// load error naming the item, so that ids never silently differ from the reference.
//
// Thread-safety: immutable once loaded; all const methods may run from many threads at once.
#ifndef LIGHTRL_TOKENIZER_ADDED_TOKENS_H_
#define LIGHTRL_TOKENIZER_ADDED_TOKENS_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/token_id.h"
#include "tokenizer/bpe.h"
#include "tokenizer/hash_maps.h"
#include "tokenizer/json_node.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/regex.h"

namespace lightrl::tokenizer {

struct AddedToken {
  std::string content;
  // What Decode and IdToToken give for the token: its content, normalized when "normalized"
  // (as the Rust library decodes; the special-token test of Decode then sees this text too).
  std::string text;
  TokenId id = 0;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

class AddedVocabulary {
 public:
  // Loads the "added_tokens" array against `model` (whose vocabulary decides ids) and
  // `normalizer` (nullable; it normalizes the contents of "normalized" tokens).
  static StatusOr<AddedVocabulary> Load(const JsonNode& list, const Bpe& model,
                                        const Normalizer* normalizer);

  // Which tokens a search looks for.
  enum class Set { kRaw, kNormalized };

  // Finds the tokens of `set` in `text` (valid UTF-8): appends the id of each match to `ids`
  // and calls `gap` on each non-empty piece between matches, in text order (`at_origin` tells
  // the gap that starts at offset 0 of a text that is itself at the origin). Returns the
  // first error of `gap`.
  Status Split(std::string_view text, Set set, bool at_origin, std::vector<TokenId>& ids,
               PieceSink gap) const;

  // The token with `id`, or nullptr.
  const AddedToken* FindById(TokenId id) const;
  // The id of the token whose content is `content`, or nullopt.
  std::optional<TokenId> FindByContent(std::string_view content) const;
  // True when `content` is the content of a special token.
  bool IsSpecial(std::string_view content) const;
  // Every token, ordered by id.
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie of the contents to search for, for leftmost-longest matching.
  struct Trie {
    struct Node {
      std::vector<std::pair<uint8_t, int32_t>> children;  // Sorted by byte.
      int32_t token = -1;                                 // Index into tokens_.
    };
    std::vector<Node> nodes{Node{}};
    std::array<bool, 256> starts{};  // Whether any content starts with this byte.
    void Insert(std::string_view content, int32_t token);
    // The longest content starting at text[pos]: (token index, length), or token -1.
    std::pair<int32_t, size_t> LongestAt(std::string_view text, size_t pos) const;
  };

  // Whether the match text[begin, end) of `token` stands alone (single_word).
  StatusOr<bool> StandsAlone(std::string_view text, size_t begin, size_t end) const;

  std::vector<AddedToken> tokens_;
  StringMap by_content_;  // content -> index into tokens_
  StringMap special_contents_;
  Trie raw_, normalized_;
  // The regex crate's "\w$" and "^\w", for single_word.
  std::shared_ptr<const Regex> ends_with_word_, starts_with_word_;
};

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_ADDED_TOKENS_H_
