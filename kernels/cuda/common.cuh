// Device-side helpers shared by the .cu files of kernels/cuda (not a public header).
#ifndef LIGHTRL_KERNELS_CUDA_COMMON_CUH_
#define LIGHTRL_KERNELS_CUDA_COMMON_CUH_

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>

#include "kernels/cuda/device.h"

namespace lightrl::kernels::cuda::internal {

// Raises kKernel's dynamic shared memory limit to `bytes` on the calling thread's current
// device, once per device: the attribute belongs to a device, and one process may drive
// several GPUs (data-parallel training, one thread per GPU).
template <auto kKernel>
void AllowSharedMemory(size_t bytes) {
  static std::atomic<uint64_t> configured_devices{0};  // bit d: device d is configured
  int device = 0;
  LIGHTRL_CUDA_CHECK(cudaGetDevice(&device));
  CHECK(device >= 0 && device < 64) << "device index " << device;
  const uint64_t bit = uint64_t{1} << device;
  if (configured_devices.load(std::memory_order_acquire) & bit) return;
  LIGHTRL_CUDA_CHECK(
      cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  configured_devices.fetch_or(bit, std::memory_order_release);
}

inline constexpr int kWarp = 32;

// Blocks of `threads` that cover n items (at least one, at most the grid limit; kernels
// loop with a grid stride).
inline unsigned GridFor(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > (1 << 30) ? (1 << 30) : blocks));
}

__device__ inline float WarpSum(float v) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ inline double WarpSum(double v) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ inline float WarpMax(float v) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets
// the result. Contains __syncthreads: call from all threads.
template <typename T>
__device__ inline T BlockSum(T v) {
  __shared__ T partial[kWarp];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int warps = blockDim.x / kWarp;
  v = WarpSum(v);
  __syncthreads();  // partial may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  T total = lane < warps ? partial[lane] : T(0);
  return WarpSum(total);
}

__device__ inline float Sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// Runs body(i) for i in [0, n) on ctx's stream, a grid-stride loop of 256-thread blocks.
template <typename Body>
__global__ void ForEachIndexKernel(int64_t n, Body body) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    body(i);
  }
}

template <typename Body>
void ForEachIndex(const CudaContext& ctx, int64_t n, Body body) {
  if (n <= 0) return;
  ForEachIndexKernel<<<GridFor(n, 256), 256, 0, ctx.stream()>>>(n, body);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

// Runs body(r, c) for r < rows, c < cols on ctx's stream: 256-thread blocks stride over the
// columns (x) and the rows (y), so no element index is divided back into (r, c).
template <typename Body>
__global__ void ForEachRowColumnKernel(int rows, int cols, Body body) {
  for (int r = blockIdx.y; r < rows; r += gridDim.y) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
      body(static_cast<int64_t>(r), static_cast<int64_t>(c));
    }
  }
}

template <typename Body>
void ForEachRowColumn(const CudaContext& ctx, int rows, int cols, Body body) {
  if (rows <= 0 || cols <= 0) return;
  const dim3 grid(static_cast<unsigned>(std::min((cols + 255) / 256, 4096)),
                  static_cast<unsigned>(std::min(rows, 65535)));
  ForEachRowColumnKernel<<<grid, 256, 0, ctx.stream()>>>(rows, cols, body);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

}  // namespace lightrl::kernels::cuda::internal

#endif  // LIGHTRL_KERNELS_CUDA_COMMON_CUH_
