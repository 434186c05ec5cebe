// Causal softmax attention with grouped-query heads over packed sequences.
//
// Query head h reads key/value head h / (heads / kv_heads). Scores are scaled by `scale`
// (transformers: head_dim^−½), the softmax runs over the keys of the query's own
// sequence up to and including its position, and the probabilities are normalized
// before they weigh the values, as transformers' eager attention does.
//
// AttentionRow computes one query row from a list of keys/values; the training forward
// and cached decoding both call it, so decoded rows are bit-identical to training rows.
// Thread-safety: reentrant; the work is split over the kernels' thread pool (parallel.h).
#ifndef LIGHTRL_KERNELS_ATTENTION_H_
#define LIGHTRL_KERNELS_ATTENTION_H_

#include <cstddef>
#include <cstdint>

namespace lightrl::kernels {

struct AttentionShape {
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  double scale = 1.0;
};

// One query row against n keys (row stride ldk) and values (row stride ldv):
// out = softmax(scale · K q) V, lse = log Σ exp(scale · K q). `scores` is scratch of n.
template <typename T>
void AttentionRow(const T* q, const T* k, ptrdiff_t ldk, const T* v, ptrdiff_t ldv, int n, int dim,
                  T scale, T* out, T* lse, T* scores);

// q: [N, heads·head_dim] (stride ldq); k, v: [N, kv_heads·head_dim] (strides ldk, ldv).
// out: [N, heads·head_dim] (dense); lse: [N, heads], kept for the backward.
template <typename T>
void AttentionForward(const T* q, int ldq, const T* k, int ldk, const T* v, int ldv,
                      const int32_t* seq_offsets, int num_seqs, const AttentionShape& shape, T* out,
                      T* lse);

// Given dout (dense like out), writes dq, dk, dv with the strides of q, k, v.
template <typename T>
void AttentionBackward(const T* q, int ldq, const T* k, int ldk, const T* v, int ldv, const T* out,
                       const T* lse, const T* dout, const int32_t* seq_offsets, int num_seqs,
                       const AttentionShape& shape, T* dq, T* dk, T* dv);

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_ATTENTION_H_
