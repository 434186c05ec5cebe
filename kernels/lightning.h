// Lightning attention (MiniMax's linear attention with a fixed per-head decay).
//
// For one head with decay λ = exp(−s) and rows q_t, k_t, v_t (already SiLU-activated):
//   o_t = Σ_{u ≤ t} λ^{t−u} (q_t · k_u) v_u
// computed in the block form of Lightning Attention-2, as transformers does: the sequence
// is cut into blocks of `block` rows; inside a block the decay mask is applied exactly
// (λ^{i−j}), across blocks a d×d state carries the past (S ← λ^m S + Σ_j λ^{m−1−j} k_jᵀ v_j).
// All powers come from one table E[n] = exp(−s·n), n = 0..block.
//
// The output of a row is computed by LightningBlockRow from the keys/values of its block
// so far and the state at the block start; training (whole sequences) and decoding (one
// row per step) call the same function, so a decoded row is bit-identical to the same row
// in a training forward. Sequences are independent: the state starts at zero at every
// sequence start. Thread-safety: reentrant; (sequence, head) pairs are split over the
// kernels' thread pool (parallel.h).
#ifndef LIGHTRL_KERNELS_LIGHTNING_H_
#define LIGHTRL_KERNELS_LIGHTNING_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lightrl::kernels {

inline constexpr int kMaxLightningHeadDim = 512;

// The decay rate s_h of head h in layer `layer` of `num_layers`, exactly as transformers
// computes it: (1/2^(8/H))^(h+1) · (1 − layer/(num_layers − 1 + 1e−5) + 1e−5).
template <typename T>
T LightningSlope(int head, int num_heads, int layer, int num_layers);

// E[n] = exp(−slope · n) for n = 0..block.
template <typename T>
std::vector<T> LightningDecayTable(T slope, int block);

// Row i (0-based) of a block: keys/values k_0..k_i, v_0..v_i of the block (row strides
// ldk/ldv), the state at the block start (dim × dim, row-major), the head's table.
//   out = E[i+1] · (q S) + Σ_{j ≤ i} E[i−j] (q · k_j) v_j
template <typename T>
void LightningBlockRow(const T* q, const T* k, ptrdiff_t ldk, const T* v, ptrdiff_t ldv, int i,
                       const T* state, const T* decay, int dim, T* out);

// Folds a block of m rows into the state: S ← E[m] · S + Σ_j E[m−1−j] k_jᵀ v_j.
template <typename T>
void LightningFoldBlock(const T* k, ptrdiff_t ldk, const T* v, ptrdiff_t ldv, int m, const T* decay,
                        int dim, T* state);

// One head of one sequence of `len` rows. Row strides may be negative (a reversed view).
template <typename T>
struct LightningHeadView {
  const T* q;
  const T* k;
  const T* v;
  ptrdiff_t ldq, ldk, ldv;
};

// Block form over one head of one sequence, starting from `state` (dim × dim; zero for a
// sequence start). Every complete block is folded into `state`; a trailing partial block
// (len % block rows) is not, so on return `state` is the state at the start of the last
// partial block, which is what decoding continues from.
template <typename T>
void LightningSequenceForward(const LightningHeadView<T>& in, int len, int dim, const T* decay,
                              int block, T* out, ptrdiff_t ldo, T* state);

// Packed layout of a lightning layer: row n of `qkv` (row stride ld) holds, for each head
// h, q at columns [3hd, 3hd+d), k at [3hd+d, 3hd+2d), v at [3hd+2d, 3hd+3d) (the order of
// transformers' qkv_proj). `out` is [N, heads·dim]. slopes: [heads].
struct LightningShape {
  int heads = 0;
  int dim = 0;
  int block = 256;
};

// Forward over every sequence of a packed batch: sequence s is rows
// [seq_offsets[s], seq_offsets[s+1]).
template <typename T>
void LightningForward(const T* qkv, int ld, const int32_t* seq_offsets, int num_seqs,
                      const LightningShape& shape, const T* slopes, T* out);

// Backward of LightningForward: given dout [N, heads·dim], writes dq/dk/dv into the
// matching columns of dqkv (row stride ld; other columns untouched).
template <typename T>
void LightningBackward(const T* qkv, int ld, const T* dout, const int32_t* seq_offsets,
                       int num_seqs, const LightningShape& shape, const T* slopes, T* dqkv);

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_LIGHTNING_H_
