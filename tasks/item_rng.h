// Deterministic randomness for generated items and the prompt-hash train/eval split.
//
// Built on SplitMix64 and FNV-1a, both fully specified, so the same seed gives the same
// numbers with any compiler or standard library (std::uniform_int_distribution does not
// promise that).
#ifndef LIGHTRL_TASKS_ITEM_RNG_H_
#define LIGHTRL_TASKS_ITEM_RNG_H_

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace lightrl {

class ItemRng {
 public:
  explicit ItemRng(uint64_t seed) : state_(seed) {}
  // A seed mixed from several values (task seed, split, index, attempt).
  static ItemRng FromParts(std::initializer_list<uint64_t> parts);

  uint64_t Next();
  // Uniform in [lo, hi]; requires lo <= hi.
  int64_t Uniform(int64_t lo, int64_t hi);

 private:
  uint64_t state_;
};

// FNV-1a, 64 bits.
uint64_t HashText(std::string_view text);

// Whether `prompt` belongs to the eval split for the given share in [0, 1].
bool IsEvalPrompt(std::string_view prompt, double eval_fraction);

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_ITEM_RNG_H_
