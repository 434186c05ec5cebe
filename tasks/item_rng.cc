#include "tasks/item_rng.h"

namespace lightrl {

namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

// The SplitMix64 finalizer: a bijection with full avalanche.
uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

ItemRng ItemRng::FromParts(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x6c696768'7472'6c31ULL;
  uint64_t position = 0;
  for (uint64_t part : parts) h = Mix64(h ^ Mix64(part + ++position * kGolden));
  return ItemRng(h);
}

uint64_t ItemRng::Next() { return Mix64(state_ += kGolden); }

int64_t ItemRng::Uniform(int64_t lo, int64_t hi) {
  uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  if (span == 0) return static_cast<int64_t>(Next());  // The full 64-bit range.
  uint64_t limit = UINT64_MAX - UINT64_MAX % span;     // Rejection removes modulo bias.
  uint64_t x = Next();
  while (x >= limit) x = Next();
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + x % span);
}

uint64_t HashText(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

bool IsEvalPrompt(std::string_view prompt, double eval_fraction) {
  constexpr uint64_t kBuckets = 1000000;
  uint64_t mixed = ItemRng(HashText(prompt)).Next();  // FNV low bits alone mix poorly.
  return static_cast<double>(mixed % kBuckets) < eval_fraction * kBuckets;
}

}  // namespace lightrl
