#include "kernels/activation.h"

#include <cmath>
#include <cstddef>

namespace lightrl::kernels {
namespace {

template <typename T>
inline T Sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

template <typename T>
inline T Silu(T x) {
  return x * Sigmoid(x);
}

template <typename T>
inline T SiluDerivative(T x) {
  const T s = Sigmoid(x);
  return s * (T(1) + x * (T(1) - s));
}

inline size_t At(int row, int ld) { return static_cast<size_t>(row) * ld; }

}  // namespace

template <typename T>
void SiluForward(const T* x, int ldx, int rows, int cols, T* y, int ldy) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) y[At(r, ldy) + c] = Silu(x[At(r, ldx) + c]);
  }
}

template <typename T>
void SiluBackward(const T* x, int ldx, const T* dy, int lddy, int rows, int cols, T* dx, int lddx) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      dx[At(r, lddx) + c] = dy[At(r, lddy) + c] * SiluDerivative(x[At(r, ldx) + c]);
    }
  }
}

template <typename T>
void SwiGluForward(const T* gate_up, int rows, int inter, T* out) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const T* gate = gate_up + At(r, 2 * inter);
    const T* up = gate + inter;
    T* o = out + At(r, inter);
    for (int c = 0; c < inter; ++c) o[c] = Silu(gate[c]) * up[c];
  }
}

template <typename T>
void SwiGluBackward(const T* gate_up, const T* dout, int rows, int inter, T* dgate_up) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const T* gate = gate_up + At(r, 2 * inter);
    const T* up = gate + inter;
    const T* d = dout + At(r, inter);
    T* dgate = dgate_up + At(r, 2 * inter);
    T* dup = dgate + inter;
    for (int c = 0; c < inter; ++c) {
      dgate[c] = d[c] * up[c] * SiluDerivative(gate[c]);
      dup[c] = d[c] * Silu(gate[c]);
    }
  }
}

template <typename T>
void SigmoidGateForward(const T* gate, int ldg, const T* x, int rows, int cols, T* y) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      y[At(r, cols) + c] = Sigmoid(gate[At(r, ldg) + c]) * x[At(r, cols) + c];
    }
  }
}

template <typename T>
void SigmoidGateBackward(const T* gate, int ldg, const T* x, const T* dy, int rows, int cols,
                         T* dgate, int lddg, T* dx) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const T s = Sigmoid(gate[At(r, ldg) + c]);
      const T d = dy[At(r, cols) + c];
      dgate[At(r, lddg) + c] = d * x[At(r, cols) + c] * s * (T(1) - s);
      dx[At(r, cols) + c] = d * s;
    }
  }
}

#define LIGHTRL_INSTANTIATE_ACTIVATION(T)                                         \
  template void SiluForward<T>(const T*, int, int, int, T*, int);                 \
  template void SiluBackward<T>(const T*, int, const T*, int, int, int, T*, int); \
  template void SwiGluForward<T>(const T*, int, int, T*);                         \
  template void SwiGluBackward<T>(const T*, const T*, int, int, T*);              \
  template void SigmoidGateForward<T>(const T*, int, const T*, int, int, T*);     \
  template void SigmoidGateBackward<T>(const T*, int, const T*, const T*, int, int, T*, int, T*);
LIGHTRL_INSTANTIATE_ACTIVATION(float)
LIGHTRL_INSTANTIATE_ACTIVATION(double)
#undef LIGHTRL_INSTANTIATE_ACTIVATION

}  // namespace lightrl::kernels
