#include "tokenizer/hash_maps.h"

#include <utility>

namespace lightrl::tokenizer {

void StringMap::Set(std::string_view key, uint64_t hash, int32_t value) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (slot.value == kAbsent) {
      slot = {hash, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(key.size()), value};
      keys_.append(key);
      ++size_;
      return;
    }
    if (slot.hash == hash && slot.length == key.size() &&
        std::memcmp(keys_.data() + slot.offset, key.data(), key.size()) == 0) {
      slot.value = value;
      return;
    }
  }
}

void StringMap::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{0, 0, 0, kAbsent});
  mask_ = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.value == kAbsent) continue;
    size_t i = slot.hash & mask_;
    while (slots_[i].value != kAbsent) i = (i + 1) & mask_;
    slots_[i] = slot;
  }
}

void StringMap::Clear() {
  keys_.clear();
  for (Slot& slot : slots_) slot.value = kAbsent;
  size_ = 0;
}

void PairMap::Set(TokenId left, TokenId right, Merge merge) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  const uint64_t key = Key(left, right);
  for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (slot.key == key) {
      slot.merge = merge;
      return;
    }
    if (slot.key == kEmpty) {
      slot = {key, merge};
      ++size_;
      return;
    }
  }
}

void PairMap::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{kEmpty, {0, 0}});
  mask_ = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.key == kEmpty) continue;
    size_t i = Hash(slot.key) & mask_;
    while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
    slots_[i] = slot;
  }
}

}  // namespace lightrl::tokenizer
