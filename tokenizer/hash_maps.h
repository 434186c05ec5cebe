// Open-addressing hash maps for the tokenizer's hot paths: text -> token id (the vocabulary,
// the word cache) and token-id pair -> merge (BPE). Both are built once and then only read,
// except the word cache, which one thread owns.
//
// Thread-safety: const methods only read; a map being modified needs exclusive access.
#ifndef LIGHTRL_TOKENIZER_HASH_MAPS_H_
#define LIGHTRL_TOKENIZER_HASH_MAPS_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/token_id.h"

namespace lightrl::tokenizer {

// A fast hash of short strings (not for adversarial keys: the maps hold the file's own tokens).
inline uint64_t HashBytes(std::string_view bytes) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = bytes.size() * kMul;
  const char* p = bytes.data();
  size_t n = bytes.size();
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  }
  if (n > 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, n);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

// Text -> value (a token id, or any int32). Keys are copied into the map.
class StringMap {
 public:
  static constexpr int32_t kAbsent = -1;

  // Sets the value of `key` (replacing an earlier one). `value` must not be kAbsent.
  void Set(std::string_view key, int32_t value) { Set(key, HashBytes(key), value); }
  void Set(std::string_view key, uint64_t hash, int32_t value);
  // The value of `key`, or kAbsent.
  int32_t Find(std::string_view key) const { return Find(key, HashBytes(key)); }
  // The same, with `hash` == HashBytes(key) computed by the caller.
  int32_t Find(std::string_view key, uint64_t hash) const {
    if (slots_.empty()) return kAbsent;
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.value == kAbsent) return kAbsent;
      if (slot.hash == hash && slot.length == key.size() &&
          std::memcmp(keys_.data() + slot.offset, key.data(), key.size()) == 0) {
        return slot.value;
      }
    }
  }
  size_t size() const { return size_; }
  // The bytes of all keys together (what a cache's memory bound counts).
  size_t key_bytes() const { return keys_.size(); }
  void Clear();

 private:
  struct Slot {
    uint64_t hash;
    uint32_t offset;
    uint32_t length;
    int32_t value;
  };
  void Grow();

  std::string keys_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// (left id, right id) -> (rank, merged id), the BPE merges.
class PairMap {
 public:
  struct Merge {
    uint32_t rank;
    TokenId id;
  };

  // Sets the merge of (left, right) (replacing an earlier one, as later merges do in the Rust
  // library). Ids must be non-negative.
  void Set(TokenId left, TokenId right, Merge merge);
  // The merge of (left, right), or nullptr.
  const Merge* Find(TokenId left, TokenId right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = Key(left, right);
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return &slot.merge;
      if (slot.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  static uint64_t Key(TokenId left, TokenId right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  static uint64_t Hash(uint64_t key) {
    key *= 0x9E3779B97F4A7C15ull;
    return key ^ (key >> 32);
  }
  void Grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_HASH_MAPS_H_
