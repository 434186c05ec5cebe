#include "kernels/norm.h"

#include <omp.h>

#include <cmath>
#include <vector>

#include "kernels/partial_sums.h"

namespace lightrl::kernels {

template <typename T>
void RmsNormForward(const T* x, const T* w, int rows, int dim, T eps, T* y, T* inv_rms) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const T* xr = x + static_cast<size_t>(r) * dim;
    T* yr = y + static_cast<size_t>(r) * dim;
    T sum_sq = 0;
    for (int i = 0; i < dim; ++i) sum_sq += xr[i] * xr[i];
    const T inv = T(1) / std::sqrt(sum_sq / static_cast<T>(dim) + eps);
    for (int i = 0; i < dim; ++i) yr[i] = w[i] * (xr[i] * inv);
    if (inv_rms != nullptr) inv_rms[r] = inv;
  }
}

template <typename T>
void RmsNormBackward(const T* x, const T* w, const T* inv_rms, const T* dy, int rows, int dim,
                     T* dx, T* dw) {
  PartialSums<T> dw_parts(dim);
#pragma omp parallel
  {
    T* dw_mine = dw_parts.ForThisThread();
#pragma omp for schedule(static)
    for (int r = 0; r < rows; ++r) {
      const T* xr = x + static_cast<size_t>(r) * dim;
      const T* dyr = dy + static_cast<size_t>(r) * dim;
      T* dxr = dx + static_cast<size_t>(r) * dim;
      const T inv = inv_rms[r];
      T dot = 0;
      for (int i = 0; i < dim; ++i) {
        dot += dyr[i] * w[i] * xr[i];
        dw_mine[i] += dyr[i] * xr[i] * inv;
      }
      const T coef = dot * inv * inv * inv / static_cast<T>(dim);
      for (int i = 0; i < dim; ++i) dxr[i] = dyr[i] * w[i] * inv - coef * xr[i];
    }
  }
  dw_parts.AddTo(dw);
}

template void RmsNormForward<float>(const float*, const float*, int, int, float, float*, float*);
template void RmsNormForward<double>(const double*, const double*, int, int, double, double*,
                                     double*);
template void RmsNormBackward<float>(const float*, const float*, const float*, const float*, int,
                                     int, float*, float*);
template void RmsNormBackward<double>(const double*, const double*, const double*, const double*,
                                      int, int, double*, double*);

}  // namespace lightrl::kernels
