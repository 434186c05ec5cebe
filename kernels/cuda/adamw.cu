#include <cmath>

#include "kernels/cuda/adamw.h"
#include "kernels/cuda/common.cuh"

namespace lightrl::kernels::cuda {
namespace {

constexpr int kPartialBlocks = 1024;
constexpr int kThreads = 256;

struct AdamWConstants {
  float decay, b1, b2, step_size, correction2_sqrt, eps;
};

__global__ void AdamWKernel(float* param, const float* grad, float* m, float* v, int64_t n,
                            AdamWConstants k) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = grad[i];
    const float mi = k.b1 * m[i] + (1.0f - k.b1) * g;
    const float vi = k.b2 * v[i] + (1.0f - k.b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrtf(vi) / k.correction2_sqrt + k.eps;
    param[i] = param[i] * k.decay - k.step_size * mi / denom;
  }
}

__global__ void PartialSquaresKernel(const float* x, int64_t n, double* partial) {
  double sum = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  }
  sum = internal::BlockSum(sum);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

__global__ void SumPartialsKernel(const double* partial, int count, double* out) {
  double sum = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) sum += partial[i];
  sum = internal::BlockSum(sum);
  if (threadIdx.x == 0) *out = sum;
}

__global__ void ScaleKernel(float* x, int64_t n, float s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    x[i] *= s;
  }
}

}  // namespace

void AdamWUpdate(const CudaContext& ctx, float* param, const float* grad, float* m, float* v,
                 size_t n, const AdamWHyperparameters& hyper, int64_t step, double weight_decay) {
  CHECK_GE(step, 1);
  if (n == 0) return;
  const AdamWConstants k{static_cast<float>(1.0 - hyper.lr * weight_decay),
                         static_cast<float>(hyper.beta1),
                         static_cast<float>(hyper.beta2),
                         static_cast<float>(hyper.lr / (1.0 - std::pow(hyper.beta1, step))),
                         static_cast<float>(std::sqrt(1.0 - std::pow(hyper.beta2, step))),
                         static_cast<float>(hyper.eps)};
  AdamWKernel<<<internal::GridFor(n, kThreads), kThreads, 0, ctx.stream()>>>(param, grad, m, v, n,
                                                                             k);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

double SumOfSquares(const CudaContext& ctx, const float* x, size_t n) {
  Scratch<double> partial(ctx, kPartialBlocks + 1);
  PartialSquaresKernel<<<kPartialBlocks, kThreads, 0, ctx.stream()>>>(x, n, partial.data());
  LIGHTRL_CUDA_CHECK_LAUNCH();
  SumPartialsKernel<<<1, kThreads, 0, ctx.stream()>>>(partial.data(), kPartialBlocks,
                                                      partial.data() + kPartialBlocks);
  LIGHTRL_CUDA_CHECK_LAUNCH();
  double total = 0;
  CopyToHost(ctx, partial.data() + kPartialBlocks, 1, &total);
  return total;
}

void ScaleInPlace(const CudaContext& ctx, float* x, size_t n, float s) {
  if (n == 0) return;
  ScaleKernel<<<internal::GridFor(n, kThreads), kThreads, 0, ctx.stream()>>>(x, n, s);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

}  // namespace lightrl::kernels::cuda
