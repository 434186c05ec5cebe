// Element-wise activations on the GPU: the contracts of kernels/activation.h (SiLU,
// SwiGLU, the sigmoid output gate; strided blocks of fused projections), FP32.
// Thread-safety: see device.h.
#ifndef LIGHTRL_KERNELS_CUDA_ACTIVATION_H_
#define LIGHTRL_KERNELS_CUDA_ACTIVATION_H_

#include "kernels/cuda/device.h"

namespace lightrl::kernels::cuda {

// y = x · σ(x) on a rows × cols block. y may alias x.
void SiluForward(const CudaContext& ctx, const float* x, int ldx, int rows, int cols, float* y,
                 int ldy);

// dx = dy · silu'(x). dx may alias dy.
void SiluBackward(const CudaContext& ctx, const float* x, int ldx, const float* dy, int lddy,
                  int rows, int cols, float* dx, int lddx);

// gate_up: [rows, 2·inter] ([gate | up] per row); out: [rows, inter] = silu(gate) ⊙ up.
void SwiGluForward(const CudaContext& ctx, const float* gate_up, int rows, int inter, float* out);

// dgate_up: [rows, 2·inter] given dout.
void SwiGluBackward(const CudaContext& ctx, const float* gate_up, const float* dout, int rows,
                    int inter, float* dgate_up);

// y = σ(gate) ⊙ x (gate with row stride ldg; x, y dense rows × cols).
void SigmoidGateForward(const CudaContext& ctx, const float* gate, int ldg, const float* x,
                        int rows, int cols, float* y);

// dgate = dy ⊙ x ⊙ σ'(gate) (row stride lddg), dx = dy ⊙ σ(gate). dx may alias dy.
void SigmoidGateBackward(const CudaContext& ctx, const float* gate, int ldg, const float* x,
                         const float* dy, int rows, int cols, float* dgate, int lddg, float* dx);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_ACTIVATION_H_
