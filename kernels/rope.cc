#include "kernels/rope.h"

#include <cmath>
#include <vector>

#include "core/logging.h"

namespace lightrl::kernels {
namespace {

template <typename T>
std::vector<T> InverseFrequencies(const RopeShape& shape) {
  const int half = shape.rotary_dim / 2;
  std::vector<T> inv_freq(half);
  for (int i = 0; i < half; ++i) {
    const T exponent = static_cast<T>(2 * i) / static_cast<T>(shape.rotary_dim);
    inv_freq[i] = T(1) / std::pow(static_cast<T>(shape.theta), exponent);
  }
  return inv_freq;
}

// sign = +1 rotates by +angle (forward), −1 by −angle (backward).
template <typename T>
void Rotate(T* x, int rows, int ld, const RopeShape& shape, const int32_t* positions, T sign) {
  CHECK(shape.rotary_dim % 2 == 0 && shape.rotary_dim <= shape.head_dim);
  const int half = shape.rotary_dim / 2;
  if (half == 0) return;
  const std::vector<T> inv_freq = InverseFrequencies<T>(shape);
#pragma omp parallel
  {
    std::vector<T> cos(half), sin(half);
#pragma omp for schedule(static)
    for (int r = 0; r < rows; ++r) {
      const T pos = static_cast<T>(positions[r]);
      for (int i = 0; i < half; ++i) {
        const T angle = pos * inv_freq[i];
        cos[i] = std::cos(angle);
        sin[i] = sign * std::sin(angle);
      }
      for (int h = 0; h < shape.heads; ++h) {
        T* head = x + static_cast<size_t>(r) * ld + static_cast<size_t>(h) * shape.head_dim;
        for (int i = 0; i < half; ++i) {
          const T a = head[i], b = head[i + half];
          head[i] = a * cos[i] - b * sin[i];
          head[i + half] = b * cos[i] + a * sin[i];
        }
      }
    }
  }
}

}  // namespace

template <typename T>
void RopeForward(T* x, int rows, int ld, const RopeShape& shape, const int32_t* positions) {
  Rotate(x, rows, ld, shape, positions, T(1));
}

template <typename T>
void RopeBackward(T* dx, int rows, int ld, const RopeShape& shape, const int32_t* positions) {
  Rotate(dx, rows, ld, shape, positions, T(-1));
}

template void RopeForward<float>(float*, int, int, const RopeShape&, const int32_t*);
template void RopeForward<double>(double*, int, int, const RopeShape&, const int32_t*);
template void RopeBackward<float>(float*, int, int, const RopeShape&, const int32_t*);
template void RopeBackward<double>(double*, int, int, const RopeShape&, const int32_t*);

}  // namespace lightrl::kernels
