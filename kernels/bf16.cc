#include "kernels/bf16.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace lightrl::kernels {

float RoundToBf16(float x) {
  if (std::isnan(x)) return x;
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  const uint32_t lsb = (bits >> 16) & 1u;
  bits += 0x7fffu + lsb;
  bits &= 0xffff0000u;
  float rounded;
  std::memcpy(&rounded, &bits, sizeof(rounded));
  return rounded;
}

template <typename T>
void RoundToBf16(const T* in, T* out, size_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(RoundToBf16(static_cast<float>(in[i])));
}

template void RoundToBf16<float>(const float*, float*, size_t);
template void RoundToBf16<double>(const double*, double*, size_t);

}  // namespace lightrl::kernels
