#include <cmath>
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/rope.h"

namespace lightrl::kernels::cuda {
namespace {

__global__ void RotateKernel(float* x, int rows, int64_t ld, int heads, int head_dim, int half,
                             const int32_t* positions, const float* inv_freq, float sign) {
  const int64_t total = static_cast<int64_t>(rows) * heads * half;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int i = static_cast<int>(t % half);
    const int64_t rh = t / half;
    const int h = static_cast<int>(rh % heads);
    const int64_t r = rh / heads;
    const float angle = static_cast<float>(positions[r]) * inv_freq[i];
    const float c = cosf(angle), s = sign * sinf(angle);
    float* head = x + r * ld + static_cast<int64_t>(h) * head_dim;
    const float a = head[i], b = head[i + half];
    head[i] = a * c - b * s;
    head[i + half] = b * c + a * s;
  }
}

void Rotate(const CudaContext& ctx, float* x, int rows, int ld, const RopeFrequencies& rope,
            const int32_t* positions, float sign) {
  const RopeShape& shape = rope.shape();
  const int half = shape.rotary_dim / 2;
  if (half == 0 || rows <= 0) return;
  const int64_t total = static_cast<int64_t>(rows) * shape.heads * half;
  RotateKernel<<<internal::GridFor(total, 256), 256, 0, ctx.stream()>>>(
      x, rows, ld, shape.heads, shape.head_dim, half, positions, rope.data(), sign);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

}  // namespace

RopeFrequencies::RopeFrequencies(const CudaContext& ctx, const RopeShape& shape) : shape_(shape) {
  CHECK(shape.rotary_dim % 2 == 0 && shape.rotary_dim <= shape.head_dim);
  const int half = shape.rotary_dim / 2;
  std::vector<float> inv_freq(half);
  for (int i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(shape.rotary_dim);
    inv_freq[i] = 1.0f / std::pow(static_cast<float>(shape.theta), exponent);
  }
  inv_freq_.MustResize(half);
  CopyToDevice(ctx, inv_freq.data(), inv_freq.size(), inv_freq_.data());
}

void RopeForward(const CudaContext& ctx, float* x, int rows, int ld, const RopeFrequencies& rope,
                 const int32_t* positions) {
  Rotate(ctx, x, rows, ld, rope, positions, 1.0f);
}

void RopeBackward(const CudaContext& ctx, float* dx, int rows, int ld, const RopeFrequencies& rope,
                  const int32_t* positions) {
  Rotate(ctx, dx, rows, ld, rope, positions, -1.0f);
}

}  // namespace lightrl::kernels::cuda
