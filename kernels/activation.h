// Element-wise activations of the model: SiLU, the SwiGLU of the experts and the sigmoid
// output gate of lightning attention.
//
// Matrices are row-major with explicit row strides (ld*), so an op can read a column
// block of a wider fused projection. Backward ops write input gradients (see norm.h for
// the conventions). Thread-safety: reentrant; rows are split over the kernels' thread pool
// (parallel.h).
#ifndef LIGHTRL_KERNELS_ACTIVATION_H_
#define LIGHTRL_KERNELS_ACTIVATION_H_

namespace lightrl::kernels {

// y = x · σ(x) on a rows × cols block. y may alias x.
template <typename T>
void SiluForward(const T* x, int ldx, int rows, int cols, T* y, int ldy);

// dx = dy · silu'(x). dx may alias dy.
template <typename T>
void SiluBackward(const T* x, int ldx, const T* dy, int lddy, int rows, int cols, T* dx, int lddx);

// gate_up: [rows, 2·inter], each row [gate | up]; out: [rows, inter] = silu(gate) ⊙ up.
template <typename T>
void SwiGluForward(const T* gate_up, int rows, int inter, T* out);

// dgate_up: [rows, 2·inter], the gradient of both halves given dout = ∂L/∂out.
template <typename T>
void SwiGluBackward(const T* gate_up, const T* dout, int rows, int inter, T* dgate_up);

// y = σ(gate) ⊙ x, all rows × cols (gate with row stride ldg, x and y dense).
template <typename T>
void SigmoidGateForward(const T* gate, int ldg, const T* x, int rows, int cols, T* y);

// dgate = dy ⊙ x ⊙ σ'(gate) (row stride lddg), dx = dy ⊙ σ(gate). dx may alias dy.
template <typename T>
void SigmoidGateBackward(const T* gate, int ldg, const T* x, const T* dy, int rows, int cols,
                         T* dgate, int lddg, T* dx);

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_ACTIVATION_H_
