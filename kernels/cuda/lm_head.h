// The LM head fused with log-softmax on the GPU: per-row log-probs of target tokens and the
// entropy, without materializing the [rows × vocab] logits (kernels/lm_head.h is the CPU
// reference and the contract).
//
// Rows go in tiles of row_tile and the vocabulary in chunks of vocab_chunk. For each tile ×
// chunk one GEMM writes the chunk's logits into scratch and one pass folds them into a
// per-row running (max, Σexp, Σexp·(l − max)), which gives the log-sum-exp and the entropy
// at the end. The backward recomputes each tile × chunk, turns it into d(logits) in place
// and runs two GEMMs (into dhidden and dweight). Extra device memory is LmHeadScratchBytes(),
// independent of the vocabulary; with the default tiles and dim 1,024 it is at most 256 MiB
// (FP32), 416 MiB (bf16) or 632 MiB (bf16x3, which keeps the split operands and gradient).
//
// Precision (gemm.h): kBf16x3 (the FP32 head on tensor cores: FP32 weights and hidden rows,
// each split into bf16 hi + lo, products within a few 1e-6 of FP32), kFp32 (plain FP32
// arithmetic, no tensor cores) or kBf16 (the GEMM inputs rounded to bf16). The log-softmax
// is FP32 in every mode. In bf16 mode the weight's bf16 copy is used when the Matrix carries
// one.// LmHeadLogits runs the same per-tile, per-chunk products as the fused forward.
// Thread-safety: see device.h.
#ifndef LIGHTRL_KERNELS_CUDA_LM_HEAD_H_
#define LIGHTRL_KERNELS_CUDA_LM_HEAD_H_

#include <cstddef>
#include <cstdint>

#include "kernels/cuda/device.h"
#include "kernels/cuda/gemm.h"

namespace lightrl::kernels::cuda {

struct LmHeadOptions {
  int row_tile = 16384;
  int vocab_chunk = 4096;
  double inv_temperature = 1.0;
  GemmPrecision precision = GemmPrecision::kFp32;
};

// Peak scratch (bytes) of a forward or backward over `rows` rows of width `dim`.
size_t LmHeadScratchBytes(const LmHeadOptions& options, int rows, int dim);

// hidden: device [rows, dim]; weight: [vocab, dim] (ld = dim); targets: device [rows], each
// in [0, vocab) (checked by the caller). Writes logprob, lse and entropy (nullable), device
// [rows] each.
void LmHeadForward(const CudaContext& ctx, const float* hidden, int rows, int dim,
                   const Matrix& weight, int vocab, const int32_t* targets,
                   const LmHeadOptions& options, float* logprob, float* entropy, float* lse);

// Given dlogprob and dentropy (nullable; then entropy may be null too), writes dhidden
// [rows, dim] and accumulates dweight [vocab, dim].
void LmHeadBackward(const CudaContext& ctx, const float* hidden, int rows, int dim,
                    const Matrix& weight, int vocab, const int32_t* targets,
                    const LmHeadOptions& options, const float* lse, const float* entropy,
                    const float* dlogprob, const float* dentropy, float* dhidden, float* dweight);

// The scaled logits [rows, vocab], materialized (decoding and evaluation).
void LmHeadLogits(const CudaContext& ctx, const float* hidden, int rows, int dim,
                  const Matrix& weight, int vocab, const LmHeadOptions& options, float* logits);

// The unfused reference path: logits (LmHeadLogits) into logits [rows, vocab] (caller-owned),
// then a separate log-softmax pass into logsoftmax [rows, vocab], then the target's entry
// and the entropy. For tests and the benchmark's baseline.
void LmHeadUnfused(const CudaContext& ctx, const float* hidden, int rows, int dim,
                   const Matrix& weight, int vocab, const int32_t* targets,
                   const LmHeadOptions& options, float* logits, float* logsoftmax, float* logprob,
                   float* entropy);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_LM_HEAD_H_
