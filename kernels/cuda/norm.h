// RMSNorm on the GPU: the same contract as kernels/norm.h (y = w ⊙ x / sqrt(mean(x²) + eps),
// input gradients written, the weight gradient accumulated), FP32.
//
// The weight gradient is reduced in a fixed order (partial sums over fixed row chunks, then
// the chunks in order), so a backward gives the same bits on every run.
// Thread-safety: see device.h.
#ifndef LIGHTRL_KERNELS_CUDA_NORM_H_
#define LIGHTRL_KERNELS_CUDA_NORM_H_

#include "kernels/cuda/device.h"

namespace lightrl::kernels::cuda {

// x, y: [rows, dim] (y may alias x); w: [dim]; inv_rms (nullable): [rows].
void RmsNormForward(const CudaContext& ctx, const float* x, const float* w, int rows, int dim,
                    float eps, float* y, float* inv_rms);

// dx (written, may alias dy) and dw (+=) given dy and the forward's inv_rms.
void RmsNormBackward(const CudaContext& ctx, const float* x, const float* w, const float* inv_rms,
                     const float* dy, int rows, int dim, float* dx, float* dw);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_NORM_H_
