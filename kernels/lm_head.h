// The LM head fused with log-softmax: per-row log-probabilities of given target tokens and
// the entropy of the distribution, without materializing the [rows × vocab] logits.
//
// Rows are processed in tiles of `row_tile` rows and the vocabulary in chunks of
// `vocab_chunk` entries; per row a running log-sum-exp (max, Σ exp, Σ exp·logit) is
// updated chunk by chunk. The backward recomputes the logits of each tile × chunk.
// Extra memory is the caller's scratch of LmHeadScratchSize() elements, independent of
// the number of rows and of the vocabulary size.
//
// The logits come from the row-stable MatMulWt (gemm.h), and LmHeadLogits plus
// LseAccumulate over the same chunks reproduce the training head's values bit for bit:
// generation and training see identical log-probs for identical hidden rows.
// Logits are multiplied by inv_temperature before the softmax.
// Thread-safety: reentrant given distinct scratch; uses both thread pools.
#ifndef LIGHTRL_KERNELS_LM_HEAD_H_
#define LIGHTRL_KERNELS_LM_HEAD_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "kernels/gemm.h"

namespace lightrl::kernels {

struct LmHeadOptions {
  int row_tile = 32;
  int vocab_chunk = 2048;
  double inv_temperature = 1.0;
  GemmOptions gemm;  // bf16_inputs: the bf16 head of the precision study
};

// Scratch elements that the forward, backward and LmHeadLogits need.
size_t LmHeadScratchSize(const LmHeadOptions& options, int dim);

// Running log-sum-exp of one row.
template <typename T>
struct LseState {
  T max = -std::numeric_limits<T>::infinity();
  T sum = 0;       // Σ exp(l − max)
  T weighted = 0;  // Σ exp(l − max) · l
  T Lse() const;
  T Entropy() const;  // Lse − E_p[l]
};

// logits[i] *= inv_temperature, the scaling every head function applies (no-op for 1).
template <typename T>
void ScaleLogits(T* logits, size_t n, double inv_temperature);

// Folds n more logits of the row into `state`.
template <typename T>
void LseAccumulate(const T* logits, int n, LseState<T>* state);

// The running state over a whole row of logits, folded chunk by chunk as the head does.
template <typename T>
LseState<T> RowLse(const T* logits, int vocab, const LmHeadOptions& options);

// hidden: [rows, dim]; weight: [vocab, dim]; targets: [rows] in [0, vocab).
// logprob[r] = l[targets[r]] − lse; entropy (nullable) = −Σ p log p; lse[r] is kept for the
// backward. scratch: LmHeadScratchSize elements.
template <typename T>
void LmHeadForward(const T* hidden, int rows, int dim, const T* weight, int vocab,
                   const int32_t* targets, const LmHeadOptions& options, T* scratch, T* logprob,
                   T* entropy, T* lse);

// Given dlogprob [rows] and dentropy [rows] (nullable; needs the forward's entropy),
// writes dhidden [rows, dim] and accumulates dweight [vocab, dim].
template <typename T>
void LmHeadBackward(const T* hidden, int rows, int dim, const T* weight, int vocab,
                    const int32_t* targets, const LmHeadOptions& options, const T* lse,
                    const T* entropy, const T* dlogprob, const T* dentropy, T* scratch, T* dhidden,
                    T* dweight);

// Full scaled logits [rows, vocab] with the same GEMM calls as the forward (for sampling
// and evaluation; this one does materialize them).
template <typename T>
void LmHeadLogits(const T* hidden, int rows, int dim, const T* weight, int vocab,
                  const LmHeadOptions& options, T* scratch, T* logits);

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_LM_HEAD_H_
