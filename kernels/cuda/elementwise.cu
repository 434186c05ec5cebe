#include "kernels/cuda/common.cuh"
#include "kernels/cuda/elementwise.h"

namespace lightrl::kernels::cuda {
namespace {

__global__ void EmbeddingBackwardKernel(const float* d, int hidden, const int32_t* tokens,
                                        const int32_t* offsets, const int32_t* rows,
                                        float* table_grad) {
  const int g = blockIdx.x;
  const int c = blockIdx.y * blockDim.x + threadIdx.x;
  if (c >= hidden) return;
  float* out = table_grad + static_cast<int64_t>(tokens[g]) * hidden + c;
  float sum = *out;
  for (int i = offsets[g]; i < offsets[g + 1]; ++i)
    sum += d[static_cast<int64_t>(rows[i]) * hidden + c];
  *out = sum;
}

}  // namespace

void Blend(const CudaContext& ctx, const float* a, float alpha, const float* b, float beta,
           size_t n, float* out) {
  internal::ForEachIndex(ctx, static_cast<int64_t>(n),
                         [=] __device__(int64_t i) { out[i] = a[i] * alpha + b[i] * beta; });
}

void Scale(const CudaContext& ctx, const float* in, float s, size_t n, float* out) {
  internal::ForEachIndex(ctx, static_cast<int64_t>(n),
                         [=] __device__(int64_t i) { out[i] = in[i] * s; });
}

void GatherRows(const CudaContext& ctx, const float* in, const int32_t* rows, int count, int cols,
                float* out) {
  internal::ForEachIndex(ctx, static_cast<int64_t>(count) * cols, [=] __device__(int64_t i) {
    const int64_t r = i / cols, c = i % cols;
    out[i] = in[static_cast<int64_t>(rows[r]) * cols + c];
  });
}

void ScatterRows(const CudaContext& ctx, const float* in, const int32_t* rows, int count, int cols,
                 float* out) {
  internal::ForEachIndex(ctx, static_cast<int64_t>(count) * cols, [=] __device__(int64_t i) {
    const int64_t r = i / cols, c = i % cols;
    out[static_cast<int64_t>(rows[r]) * cols + c] = in[i];
  });
}

void EmbeddingForward(const CudaContext& ctx, const float* table, int hidden, const int32_t* tokens,
                      int count, float* out) {
  GatherRows(ctx, table, tokens, count, hidden, out);
}

void EmbeddingBackward(const CudaContext& ctx, const float* d, int hidden,
                       const TokenGroups& groups, float* table_grad) {
  if (groups.num_tokens <= 0) return;
  constexpr int kThreads = 256;
  EmbeddingBackwardKernel<<<dim3(groups.num_tokens, (hidden + kThreads - 1) / kThreads), kThreads,
                            0, ctx.stream()>>>(d, hidden, groups.tokens, groups.offsets,
                                               groups.rows, table_grad);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

}  // namespace lightrl::kernels::cuda
