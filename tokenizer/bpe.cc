#include "tokenizer/bpe.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <unordered_map>
#include <utility>

#include "tokenizer/unicode.h"

namespace lightrl::tokenizer {
namespace {

// Words at least this long are not cached (as in the Rust library).
constexpr size_t kMaxCachedWordBytes = 256;
// A thread's cache for one Bpe is cleared when it holds this many words or key bytes.
constexpr size_t kMaxCachedWords = 1 << 15;
constexpr size_t kMaxCachedKeyBytes = 1 << 20;
// A thread keeps caches for at most this many Bpe models (all dropped when one more comes).
constexpr size_t kMaxCachesPerThread = 16;

std::atomic<uint64_t> next_cache_key{1};

// A merge waiting in the queue: the pair that starts at symbol `pos` becomes `id`.
struct Candidate {
  uint32_t rank;
  uint32_t pos;
  TokenId id;
  // The queue's top is the lowest rank, then the leftmost position.
  bool operator<(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : pos > other.pos;
  }
};

struct Symbol {
  TokenId id;
  int32_t prev;
  int32_t next;
};

}  // namespace

// The words one thread has encoded with one Bpe, and their ids.
class Bpe::WordCache {
 public:
  // Appends the cached ids of `word` (whose HashBytes is `hash`) to `ids`; false when the word
  // is not cached.
  bool Append(std::string_view word, uint64_t hash, std::vector<TokenId>& ids) const {
    const int32_t entry = index_.Find(word, hash);
    if (entry == StringMap::kAbsent) return false;
    const auto [offset, count] = entries_[entry];
    ids.insert(ids.end(), ids_.begin() + offset, ids_.begin() + offset + count);
    return true;
  }

  void Insert(std::string_view word, uint64_t hash, const TokenId* ids, size_t count) {
    if (entries_.size() >= kMaxCachedWords || index_.key_bytes() >= kMaxCachedKeyBytes) {
      index_.Clear();
      entries_.clear();
      ids_.clear();
    }
    index_.Set(word, hash, static_cast<int32_t>(entries_.size()));
    entries_.emplace_back(static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(count));
    ids_.insert(ids_.end(), ids, ids + count);
  }

 private:
  StringMap index_;
  std::vector<std::pair<uint32_t, uint32_t>> entries_;  // (offset, count) in ids_.
  std::vector<TokenId> ids_;
};

Bpe::~Bpe() = default;

StatusOr<std::unique_ptr<Bpe>> Bpe::Load(const JsonNode& model) {
  RETURN_IF_ERROR(
      model.CheckKeys({"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
                       "fuse_unk", "byte_fallback", "ignore_merges", "vocab", "merges"}));
  std::unique_ptr<Bpe> bpe(new Bpe());
  const JsonNode dropout = model.ChildOrNull("dropout");
  if (!dropout.IsNull() && !(dropout.value().is_number() && dropout.value().get<double>() == 0)) {
    return dropout.Error("BPE dropout is not supported (encoding must be deterministic)");
  }
  ASSIGN_OR_RETURN(bpe->prefix_, model.OptionalString("continuing_subword_prefix", ""));
  ASSIGN_OR_RETURN(bpe->suffix_, model.OptionalString("end_of_word_suffix", ""));
  ASSIGN_OR_RETURN(bpe->fuse_unk_, model.OptionalBool("fuse_unk", false));
  ASSIGN_OR_RETURN(bpe->byte_fallback_, model.OptionalBool("byte_fallback", false));
  ASSIGN_OR_RETURN(bpe->ignore_merges_, model.OptionalBool("ignore_merges", false));
  ASSIGN_OR_RETURN(const JsonNode vocab, model.Child("vocab"));
  RETURN_IF_ERROR(bpe->LoadVocab(vocab));
  ASSIGN_OR_RETURN(const JsonNode merges, model.Child("merges"));
  RETURN_IF_ERROR(bpe->LoadMerges(merges));
  const JsonNode unk = model.ChildOrNull("unk_token");
  if (!unk.IsNull()) {
    ASSIGN_OR_RETURN(const std::string unk_token, unk.AsString());
    const int32_t id = bpe->vocab_.Find(unk_token);
    if (id == StringMap::kAbsent)
      return unk.Error("\"" + unk_token + "\" is not in the vocabulary");
    bpe->unk_ = id;
  }
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    bpe->byte_ids_[byte] = bpe->vocab_.Find(name);
  }
  bpe->cache_key_ = next_cache_key.fetch_add(1);
  return bpe;
}

Status Bpe::LoadVocab(const JsonNode& vocab) {
  RETURN_IF_ERROR(vocab.ExpectObject());
  int64_t largest = -1;
  for (const auto& [token, id_value] : vocab.value().items()) {
    if (!id_value.is_number_integer() || id_value.get<int64_t>() < 0 ||
        id_value.get<int64_t>() > INT32_MAX - 1) {
      return vocab.Error("\"" + token + "\": expected an id in [0, 2^31 - 1)");
    }
    largest = std::max(largest, id_value.get<int64_t>());
  }
  const size_t count = vocab.value().size();
  if (largest >= static_cast<int64_t>(2 * count + 1024)) {
    return vocab.Error("ids are too sparse: the largest is " + std::to_string(largest) + " for " +
                       std::to_string(count) + " tokens");
  }
  id_to_token_.assign(static_cast<size_t>(largest + 1), std::string());
  has_id_.assign(id_to_token_.size(), false);
  for (const auto& [token, id_value] : vocab.value().items()) {
    const auto id = static_cast<TokenId>(id_value.get<int64_t>());
    if (has_id_[id]) {
      return vocab.Error("\"" + id_to_token_[id] + "\" and \"" + token + "\" share id " +
                         std::to_string(id));
    }
    has_id_[id] = true;
    id_to_token_[id] = token;
    vocab_.Set(token, id);
  }
  return Status::Ok();
}

Status Bpe::LoadMerges(const JsonNode& merges) {
  ASSIGN_OR_RETURN(const size_t size, merges.ArraySize());
  const bool legacy = size > 0 && merges.value()[0].is_string();
  uint32_t rank = 0;
  std::string merged;
  for (size_t i = 0; i < size; ++i) {
    const JsonNode entry = merges.Element(i);
    std::string left, right;
    if (legacy) {
      if (!entry.value().is_string()) return entry.Error("expected a string");
      const auto& line = entry.value().get_ref<const std::string&>();
      if (line.starts_with("#version"))
        continue;  // A merges.txt header, as the Rust library skips.
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        return entry.Error("expected \"left right\" (one space)");
      }
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else {
      if (!entry.value().is_array() || entry.value().size() != 2 || !entry.value()[0].is_string() ||
          !entry.value()[1].is_string()) {
        return entry.Error("expected [\"left\", \"right\"]");
      }
      left = entry.value()[0].get<std::string>();
      right = entry.value()[1].get<std::string>();
    }
    const int32_t left_id = vocab_.Find(left);
    const int32_t right_id = vocab_.Find(right);
    if (left_id == StringMap::kAbsent)
      return entry.Error("\"" + left + "\" is not in the vocabulary");
    if (right_id == StringMap::kAbsent) {
      return entry.Error("\"" + right + "\" is not in the vocabulary");
    }
    if (right.size() < prefix_.size()) {
      return entry.Error("\"" + right + "\" is shorter than the continuing_subword_prefix");
    }
    merged = left;
    merged.append(right, prefix_.size());
    const int32_t merged_id = vocab_.Find(merged);
    if (merged_id == StringMap::kAbsent) {
      return entry.Error("the merged token \"" + merged + "\" is not in the vocabulary");
    }
    merges_.Set(left_id, right_id, {rank++, merged_id});
  }
  return Status::Ok();
}

std::optional<TokenId> Bpe::TokenToId(std::string_view token) const {
  const int32_t id = vocab_.Find(token);
  if (id == StringMap::kAbsent) return std::nullopt;
  return id;
}

const std::string* Bpe::IdToToken(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_id_[id]) return nullptr;
  return &id_to_token_[id];
}

void Bpe::InitialSymbols(std::string_view word, std::vector<TokenId>& symbols) const {
  symbols.clear();
  TokenId pending_unk = -1;  // The unknown token not yet added, when >= 0.
  std::string decorated;
  for (size_t pos = 0; pos < word.size();) {
    const size_t begin = pos;
    pos += Utf8Length(static_cast<unsigned char>(word[pos]));
    std::string_view piece = word.substr(begin, pos - begin);
    const bool decorate =
        (begin > 0 && !prefix_.empty()) || (pos == word.size() && !suffix_.empty());
    if (decorate) {
      decorated.clear();
      if (begin > 0) decorated += prefix_;
      decorated += piece;
      if (pos == word.size()) decorated += suffix_;
      piece = decorated;
    }
    const int32_t id = vocab_.Find(piece);
    if (id != StringMap::kAbsent) {
      if (pending_unk >= 0) symbols.push_back(pending_unk);
      pending_unk = -1;
      symbols.push_back(id);
      continue;
    }
    if (byte_fallback_ && std::all_of(piece.begin(), piece.end(), [&](char byte) {
          return byte_ids_[static_cast<uint8_t>(byte)] != StringMap::kAbsent;
        })) {
      // As in the Rust library, a pending unknown token stays pending across byte fallbacks.
      for (const char byte : piece) symbols.push_back(byte_ids_[static_cast<uint8_t>(byte)]);
      continue;
    }
    if (!unk_) continue;  // Neither known nor representable: the character is dropped.
    if (pending_unk >= 0 && !fuse_unk_) symbols.push_back(pending_unk);
    pending_unk = *unk_;
  }
  if (pending_unk >= 0) symbols.push_back(pending_unk);
}

void Bpe::Merge(std::vector<TokenId>& ids_in, std::vector<TokenId>& ids) const {
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> queue;
  const auto count = static_cast<int32_t>(ids_in.size());
  symbols.resize(count);
  queue.clear();
  for (int32_t i = 0; i < count; ++i) {
    symbols[i] = {ids_in[i], i - 1, i + 1 < count ? i + 1 : -1};
    if (i + 1 < count) {
      if (const PairMap::Merge* merge = merges_.Find(ids_in[i], ids_in[i + 1])) {
        queue.push_back({merge->rank, static_cast<uint32_t>(i), merge->id});
      }
    }
  }
  std::make_heap(queue.begin(), queue.end());
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end());
    const Candidate top = queue.back();
    queue.pop_back();
    Symbol& left = symbols[top.pos];
    // Skip a stale candidate: its left symbol was merged away, or its pair has changed.
    if (left.id < 0 || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const PairMap::Merge* current = merges_.Find(left.id, right.id);
    if (current == nullptr || current->id != top.id) continue;
    left.id = top.id;
    right.id = -1;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = static_cast<int32_t>(top.pos);
    if (left.prev >= 0) {
      if (const PairMap::Merge* merge = merges_.Find(symbols[left.prev].id, left.id)) {
        queue.push_back({merge->rank, static_cast<uint32_t>(left.prev), merge->id});
        std::push_heap(queue.begin(), queue.end());
      }
    }
    if (left.next >= 0) {
      if (const PairMap::Merge* merge = merges_.Find(left.id, symbols[left.next].id)) {
        queue.push_back({merge->rank, top.pos, merge->id});
        std::push_heap(queue.begin(), queue.end());
      }
    }
  }
  for (int32_t i = count > 0 ? 0 : -1; i >= 0; i = symbols[i].next) ids.push_back(symbols[i].id);
}

Bpe::WordCache& Bpe::ThreadCache() const {
  thread_local uint64_t last_key = 0;
  thread_local WordCache* last = nullptr;
  if (last_key == cache_key_) return *last;
  thread_local std::unordered_map<uint64_t, std::unique_ptr<WordCache>> caches;
  if (caches.size() >= kMaxCachesPerThread && !caches.contains(cache_key_)) caches.clear();
  std::unique_ptr<WordCache>& cache = caches[cache_key_];
  if (!cache) cache = std::make_unique<WordCache>();
  last_key = cache_key_;
  last = cache.get();
  return *last;
}

void Bpe::Encode(std::string_view word, std::vector<TokenId>& ids) const {
  const uint64_t hash = HashBytes(word);
  if (ignore_merges_) {
    const int32_t id = vocab_.Find(word, hash);
    if (id != StringMap::kAbsent) {
      ids.push_back(id);
      return;
    }
  }
  WordCache* cache = word.size() < kMaxCachedWordBytes ? &ThreadCache() : nullptr;
  if (cache != nullptr && cache->Append(word, hash, ids)) return;
  thread_local std::vector<TokenId> symbols;
  InitialSymbols(word, symbols);
  const size_t before = ids.size();
  Merge(symbols, ids);
  if (cache != nullptr) cache->Insert(word, hash, ids.data() + before, ids.size() - before);
}

}  // namespace lightrl::tokenizer
