#include "kernels/adamw.h"

#include <cmath>

#include "core/logging.h"

namespace lightrl::kernels {

template <typename T>
void AdamWUpdate(T* param, const T* grad, T* m, T* v, size_t n, const AdamWHyperparameters& hyper,
                 int64_t step, double weight_decay) {
  CHECK_GE(step, 1);
  const T decay = static_cast<T>(1.0 - hyper.lr * weight_decay);
  const T b1 = static_cast<T>(hyper.beta1), b2 = static_cast<T>(hyper.beta2);
  const T step_size = static_cast<T>(hyper.lr / (1.0 - std::pow(hyper.beta1, step)));
  const T correction2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(hyper.beta2, step)));
  const T eps = static_cast<T>(hyper.eps);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const T g = grad[i];
    m[i] = b1 * m[i] + (T(1) - b1) * g;
    v[i] = b2 * v[i] + (T(1) - b2) * g * g;
    const T denom = std::sqrt(v[i]) / correction2_sqrt + eps;
    param[i] = param[i] * decay - step_size * m[i] / denom;
  }
}

template <typename T>
double SumOfSquares(const T* x, size_t n) {
  double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
  for (size_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return sum;
}

template <typename T>
void ScaleInPlace(T* x, size_t n, T s) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) x[i] *= s;
}

#define LIGHTRL_INSTANTIATE_ADAMW(T)                                                               \
  template void AdamWUpdate<T>(T*, const T*, T*, T*, size_t, const AdamWHyperparameters&, int64_t, \
                               double);                                                            \
  template double SumOfSquares<T>(const T*, size_t);                                               \
  template void ScaleInPlace<T>(T*, size_t, T);
LIGHTRL_INSTANTIATE_ADAMW(float)
LIGHTRL_INSTANTIATE_ADAMW(double)
#undef LIGHTRL_INSTANTIATE_ADAMW

}  // namespace lightrl::kernels
