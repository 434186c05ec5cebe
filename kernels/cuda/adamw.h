// AdamW and gradient-norm helpers on the GPU: the contract of kernels/adamw.h (PyTorch's
// AdamW with decoupled weight decay; the bias corrections are computed on the host in
// double exactly as the CPU op computes them), FP32 state.
//
// SumOfSquares reduces in a fixed order (a fixed grid of partial sums in double, then one
// block over the partials), so it gives the same value on every run.
// Thread-safety: see device.h.
#ifndef LIGHTRL_KERNELS_CUDA_ADAMW_H_
#define LIGHTRL_KERNELS_CUDA_ADAMW_H_

#include <cstddef>
#include <cstdint>

#include "kernels/adamw.h"
#include "kernels/cuda/device.h"

namespace lightrl::kernels::cuda {

// Updates n elements of param, m and v (device) for step `step` (>= 1).
void AdamWUpdate(const CudaContext& ctx, float* param, const float* grad, float* m, float* v,
                 size_t n, const AdamWHyperparameters& hyper, int64_t step, double weight_decay);

// Σ x² in double; waits for the result.
double SumOfSquares(const CudaContext& ctx, const float* x, size_t n);

// x ← x · s.
void ScaleInPlace(const CudaContext& ctx, float* x, size_t n, float s);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_ADAMW_H_
