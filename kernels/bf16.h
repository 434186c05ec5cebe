// bfloat16 rounding for the optional bf16 precision mode.
//
// The bf16 mode keeps FP32 (or FP64) storage and arithmetic but rounds the inputs of a
// GEMM to the nearest bfloat16 value (round-to-nearest-even, as a bf16 tensor core would
// see them), so the train-vs-generation mismatch of low-precision kernels can be studied
// on the CPU. Thread-safety: pure functions.
#ifndef LIGHTRL_KERNELS_BF16_H_
#define LIGHTRL_KERNELS_BF16_H_

#include <cstddef>

namespace lightrl::kernels {

// The float nearest to `x` that is exactly representable in bfloat16 (ties to even).
// NaN stays NaN and infinities stay infinite; values beyond the bf16 range round to inf.
float RoundToBf16(float x);

// out[i] = RoundToBf16(in[i]) for i < n (a double input is first rounded to float).
// `in` and `out` may be the same array.
template <typename T>
void RoundToBf16(const T* in, T* out, size_t n);

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_BF16_H_
