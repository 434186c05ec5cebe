// AdamW (PyTorch's semantics, decoupled weight decay) and global gradient-norm helpers.
//
// Step t (1-based) on every element:
//   p ← p · (1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²
//   p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
// Defaults are MiniMax-M1's: β1 0.9, β2 0.95, eps 1e-15 (gradients there span 1e-18..1e-5;
// a larger eps swamps the update). Thread-safety: reentrant; elements are split over the
// kernels' thread pool (parallel.h).
#ifndef LIGHTRL_KERNELS_ADAMW_H_
#define LIGHTRL_KERNELS_ADAMW_H_

#include <cstddef>
#include <cstdint>

namespace lightrl::kernels {

struct AdamWHyperparameters {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-15;
};

// Updates n elements of param, m (first moment) and v (second moment) for step `step`
// (>= 1) with weight decay `weight_decay` (0 disables it for this tensor).
template <typename T>
void AdamWUpdate(T* param, const T* grad, T* m, T* v, size_t n, const AdamWHyperparameters& hyper,
                 int64_t step, double weight_decay);

// Σ x², accumulated in double.
template <typename T>
double SumOfSquares(const T* x, size_t n);

// x ← x · s.
template <typename T>
void ScaleInPlace(T* x, size_t n, T s);

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_ADAMW_H_
