#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/norm.h"

namespace lightrl::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxChunks = 128;

__global__ void RmsNormForwardKernel(const float* x, const float* w, int dim, float eps, float* y,
                                     float* inv_rms) {
  const int64_t r = blockIdx.x;
  const float* xr = x + r * dim;
  float sum_sq = 0;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) sum_sq += xr[i] * xr[i];
  sum_sq = internal::BlockSum(sum_sq);
  const float inv = 1.0f / sqrtf(sum_sq / static_cast<float>(dim) + eps);
  float* yr = y + r * dim;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = w[i] * (xr[i] * inv);
  if (threadIdx.x == 0 && inv_rms != nullptr) inv_rms[r] = inv;
}

__global__ void RmsNormInputGradKernel(const float* x, const float* w, const float* inv_rms,
                                       const float* dy, int dim, float* dx) {
  const int64_t r = blockIdx.x;
  const float* xr = x + r * dim;
  const float* dyr = dy + r * dim;
  const float inv = inv_rms[r];
  float dot = 0;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) dot += dyr[i] * w[i] * xr[i];
  dot = internal::BlockSum(dot);
  const float coef = dot * inv * inv * inv / static_cast<float>(dim);
  float* dxr = dx + r * dim;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) dxr[i] = dyr[i] * w[i] * inv - coef * xr[i];
}

// partial[chunk, c] = Σ_{r in chunk} dy[r, c] · x[r, c] · inv_rms[r].
__global__ void RmsNormWeightPartialKernel(const float* x, const float* inv_rms, const float* dy,
                                           int rows, int dim, int rows_per_chunk, float* partial) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= dim) return;
  const int chunk = blockIdx.y;
  const int begin = chunk * rows_per_chunk, end = min(rows, begin + rows_per_chunk);
  float sum = 0;
  for (int r = begin; r < end; ++r) {
    const int64_t at = static_cast<int64_t>(r) * dim + c;
    sum += dy[at] * x[at] * inv_rms[r];
  }
  partial[static_cast<int64_t>(chunk) * dim + c] = sum;
}

__global__ void AddChunksKernel(const float* partial, int chunks, int dim, float* out) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= dim) return;
  float sum = out[c];
  for (int k = 0; k < chunks; ++k) sum += partial[static_cast<int64_t>(k) * dim + c];
  out[c] = sum;
}

}  // namespace

void RmsNormForward(const CudaContext& ctx, const float* x, const float* w, int rows, int dim,
                    float eps, float* y, float* inv_rms) {
  if (rows <= 0) return;
  RmsNormForwardKernel<<<rows, kThreads, 0, ctx.stream()>>>(x, w, dim, eps, y, inv_rms);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

void RmsNormBackward(const CudaContext& ctx, const float* x, const float* w, const float* inv_rms,
                     const float* dy, int rows, int dim, float* dx, float* dw) {
  if (rows <= 0) return;
  // The weight gradient reads dy first: dx may overwrite it.
  const int rows_per_chunk = std::max(1, (rows + kMaxChunks - 1) / kMaxChunks);
  const int chunks = (rows + rows_per_chunk - 1) / rows_per_chunk;
  Scratch<float> partial(ctx, static_cast<size_t>(chunks) * dim);
  const unsigned col_blocks = (dim + kThreads - 1) / kThreads;
  RmsNormWeightPartialKernel<<<dim3(col_blocks, chunks), kThreads, 0, ctx.stream()>>>(
      x, inv_rms, dy, rows, dim, rows_per_chunk, partial.data());
  LIGHTRL_CUDA_CHECK_LAUNCH();
  AddChunksKernel<<<col_blocks, kThreads, 0, ctx.stream()>>>(partial.data(), chunks, dim, dw);
  LIGHTRL_CUDA_CHECK_LAUNCH();
  RmsNormInputGradKernel<<<rows, kThreads, 0, ctx.stream()>>>(x, w, inv_rms, dy, dim, dx);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

}  // namespace lightrl::kernels::cuda
