// What incremental decoding keeps per sequence between steps.
//
// Lightning layers keep the FP32 state at the start of the current block plus the keys
// and values of the block's rows so far (at most block_size rows): a decoded row is then
// computed exactly as the training forward computes it (kernels/lightning.h). Softmax
// layers keep the keys (after RoPE) and values of every position.
// Ownership: a SequenceCache belongs to one sequence; the model reads and appends to it.
#ifndef LIGHTRL_MODEL_DECODE_CACHE_H_
#define LIGHTRL_MODEL_DECODE_CACHE_H_

#include <vector>

namespace lightrl::model {

template <typename T>
struct LightningCache {
  std::vector<T> state;   // heads × head_dim × head_dim
  std::vector<T> keys;    // rows_in_block × (heads · head_dim)
  std::vector<T> values;  // rows_in_block × (heads · head_dim)
  int rows_in_block = 0;
};

template <typename T>
struct KvCache {
  std::vector<T> keys;    // length × (kv_heads · head_dim)
  std::vector<T> values;  // length × (kv_heads · head_dim)
  int length = 0;
};

template <typename T>
struct SequenceCache {
  std::vector<LightningCache<T>> lightning;  // one per lightning layer, in layer order
  std::vector<KvCache<T>> kv;                // one per softmax layer, in layer order
  int length = 0;                            // tokens consumed
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_DECODE_CACHE_H_
