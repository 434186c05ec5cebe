// The BPE model of a tokenizer.json ("model": {"type": "BPE", ...}), encoding each
// pre-tokenized word exactly as the Rust library does:
//   - the word's characters are its first symbols (with "continuing_subword_prefix" on all but
//     the first and "end_of_word_suffix" on the last); a character not in the vocabulary
//     becomes its bytes' "<0xXX>" tokens with "byte_fallback", else "unk_token" (consecutive
//     ones fused into one with "fuse_unk"), else it is dropped;
//   - then, repeatedly, the adjacent pair with the lowest merge rank (the leftmost of equals)
//     becomes its merged token;
//   - with "ignore_merges", a word that is itself in the vocabulary is that token.
// "dropout" must be null or 0 (encoding is deterministic); any other option is a load error.
//
// Each thread keeps a cache of the words it encoded (bounded; cleared when full) for each Bpe,
// as the Rust library does; it changes nothing but speed.
// Thread-safety: immutable once loaded; Encode may run from many threads at once.
#ifndef LIGHTRL_TOKENIZER_BPE_H_
#define LIGHTRL_TOKENIZER_BPE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/token_id.h"
#include "tokenizer/hash_maps.h"
#include "tokenizer/json_node.h"

namespace lightrl::tokenizer {

class Bpe {
 public:
  // Loads the "model" object. Errors name the item: an unknown option, a vocabulary id that is
  // negative, shared or far beyond the vocabulary's size, a merge naming a token (or making
  // one) that is not in the vocabulary, an unk_token outside the vocabulary.
  static StatusOr<std::unique_ptr<Bpe>> Load(const JsonNode& model);
  ~Bpe();

  // Appends the ids of `word` (non-empty, valid UTF-8) to `ids`.
  void Encode(std::string_view word, std::vector<TokenId>& ids) const;

  // The id of a vocabulary token, or nullopt.
  std::optional<TokenId> TokenToId(std::string_view token) const;
  // The text of a vocabulary id, or nullptr.
  const std::string* IdToToken(TokenId id) const;
  // One more than the largest id of the vocabulary.
  TokenId IdBound() const { return static_cast<TokenId>(id_to_token_.size()); }

 private:
  class WordCache;
  Bpe() = default;
  Status LoadVocab(const JsonNode& vocab);
  Status LoadMerges(const JsonNode& merges);
  // The first symbols of `word` (before any merge), as the Rust library's merge_word builds them.
  void InitialSymbols(std::string_view word, std::vector<TokenId>& symbols) const;
  // Applies the merges to `symbols` and appends the result to `ids`.
  void Merge(std::vector<TokenId>& symbols, std::vector<TokenId>& ids) const;
  WordCache& ThreadCache() const;

  StringMap vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  PairMap merges_;
  std::string prefix_, suffix_;
  std::optional<TokenId> unk_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  bool byte_fallback_ = false;
  std::array<TokenId, 256> byte_ids_{};  // "<0xXX>" of each byte; -1 when missing.
  uint64_t cache_key_ = 0;               // Unique per Bpe: finds this model's thread caches.
};

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_BPE_H_
