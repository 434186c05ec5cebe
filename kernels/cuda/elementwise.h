// Element-wise and row-moving glue of the GPU model: residual blends, scaling, row gathers,
// and the embedding lookup with its deterministic backward. FP32.
// Thread-safety: see device.h.
#ifndef LIGHTRL_KERNELS_CUDA_ELEMENTWISE_H_
#define LIGHTRL_KERNELS_CUDA_ELEMENTWISE_H_

#include <cstddef>
#include <cstdint>

#include "kernels/cuda/device.h"

namespace lightrl::kernels::cuda {

// out = a · alpha + b · beta over n values (out may alias a or b).
void Blend(const CudaContext& ctx, const float* a, float alpha, const float* b, float beta,
           size_t n, float* out);

// out = in · s over n values (out may alias in).
void Scale(const CudaContext& ctx, const float* in, float s, size_t n, float* out);

// out[i, :] = in[rows[i], :] for i < count, rows of `cols` values (dense).
void GatherRows(const CudaContext& ctx, const float* in, const int32_t* rows, int count, int cols,
                float* out);

// out[rows[i], :] = in[i, :] for i < count (distinct rows; other rows untouched).
void ScatterRows(const CudaContext& ctx, const float* in, const int32_t* rows, int count, int cols,
                 float* out);

// out[r, :] = table[tokens[r], :] for r < count.
void EmbeddingForward(const CudaContext& ctx, const float* table, int hidden, const int32_t* tokens,
                      int count, float* out);

// The rows of a batch grouped by token, built on the host: the backward of an embedding
// lookup adds each token's rows in ascending row order (as the CPU model does), so it is
// deterministic without atomics.
struct TokenGroups {
  int num_tokens = 0;      // distinct tokens
  const int32_t* tokens;   // device [num_tokens]
  const int32_t* offsets;  // device [num_tokens + 1] into rows
  const int32_t* rows;     // device [count]: rows of each token, ascending
};

// table_grad[token, :] += Σ d[r, :] over the rows r of that token.
void EmbeddingBackward(const CudaContext& ctx, const float* d, int hidden,
                       const TokenGroups& groups, float* table_grad);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_ELEMENTWISE_H_
