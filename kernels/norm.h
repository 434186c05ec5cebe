// RMSNorm over the last dimension: y = w ⊙ x / sqrt(mean(x²) + eps).
//
// Conventions shared by every backward op in kernels/: input gradients are written
// (overwritten), parameter gradients are accumulated (+=). Rows are independent; the
// per-row arithmetic is the same whatever the number of rows, so a row gives the same
// bits in a batch of one and in a batch of thousands. Thread-safety: reentrant; the
// work is split over the kernels' thread pool (parallel.h).
#ifndef LIGHTRL_KERNELS_NORM_H_
#define LIGHTRL_KERNELS_NORM_H_

namespace lightrl::kernels {

// x, y: [rows, dim]; w: [dim]; inv_rms (nullable): [rows], receives 1/sqrt(mean(x²)+eps).
// y may alias x.
template <typename T>
void RmsNormForward(const T* x, const T* w, int rows, int dim, T eps, T* y, T* inv_rms);

// dx = ∂L/∂x given dy = ∂L/∂y (written); dw += ∂L/∂w. inv_rms is the forward's output.
// dx may alias dy.
template <typename T>
void RmsNormBackward(const T* x, const T* w, const T* inv_rms, const T* dy, int rows, int dim,
                     T* dx, T* dw);

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_NORM_H_
