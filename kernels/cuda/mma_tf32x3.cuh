// FP32-accurate matrix products on the tensor cores (not a public header): 3xTF32 with the
// warp-level mma.sync m16n8k8 instruction (sm_80 and later).
//
// Each FP32 operand x is split into hi = tf32(x) and lo = tf32(x − hi), both rounded to nearest,
// and a·b is taken as lo_a·hi_b + hi_a·lo_b + hi_a·hi_b (the dropped lo·lo term is ~2⁻²² relative).
// The tensor cores accumulate with truncation, so the three products of one k-step go into a zeroed
// tile and are added to the FP32 accumulator with one rounded add per element: the truncation
// then acts on a k-step's partial sum, not on the running total.
//
// Fragment layouts (lane = 4·g + t, g = 0..7, t = 0..3), for a 16×8 A, an 8×8 B (k × n) and
// a 16×8 C: a = {A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4]}, b = {B[t][n=g], B[t+4][n=g]},
// c = {C[g][2t], C[g][2t+1], C[g+8][2t], C[g+8][2t+1]}. Callers may permute the k index of
// A and B alike (a product sums over k); the lightning kernels map k = t to 2t and k = t+4
// to 2t+1, so that a thread's two k values are adjacent in memory and a C tile of scores
// is directly the A fragment of the next product.
#ifndef LIGHTRL_KERNELS_CUDA_MMA_TF32X3_CUH_
#define LIGHTRL_KERNELS_CUDA_MMA_TF32X3_CUH_

#include <cstdint>

namespace lightrl::kernels::cuda::internal {

struct FragA {
  uint32_t hi[4], lo[4];
};

struct FragB {
  uint32_t hi[2], lo[2];
};

// hi and lo as mma operands. The tensor cores read the top 19 bits of a TF32 operand and
// ignore the rest, so adding half a TF32 ulp to the bits rounds to nearest (ties away from
// zero) for finite values; this is cheaper than cvt.rna.tf32.f32, which sm_90 emulates.
__device__ inline void SplitTf32(float x, uint32_t* hi, uint32_t* lo) {
  constexpr uint32_t kHalfUlp = 0x1000u, kTf32Bits = 0xffffe000u;
  *hi = __float_as_uint(x) + kHalfUlp;
  const float rest = x - __uint_as_float(*hi & kTf32Bits);  // exact
  *lo = __float_as_uint(rest) + kHalfUlp;
}

// A fragment from its four values, in the order above.
__device__ inline FragA MakeFragA(float a0, float a1, float a2, float a3) {
  FragA f;
  SplitTf32(a0, &f.hi[0], &f.lo[0]);
  SplitTf32(a1, &f.hi[1], &f.lo[1]);
  SplitTf32(a2, &f.hi[2], &f.lo[2]);
  SplitTf32(a3, &f.hi[3], &f.lo[3]);
  return f;
}

__device__ inline FragB MakeFragB(float b0, float b1) {
  FragB f;
  SplitTf32(b0, &f.hi[0], &f.lo[0]);
  SplitTf32(b1, &f.hi[1], &f.lo[1]);
  return f;
}

// d = a·b + c for one TF32 m16n8k8 tile.
__device__ inline void MmaTf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                               const float (&c)[4]) {
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%10, %11, %12, %13};"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
        "f"(c[2]), "f"(c[3]));
}

// acc[j] += a·b[j] for j < kN, to FP32 accuracy (see the header comment). The kN tiles are
// independent, so each of the three passes issues kN mma in a row and the tensor cores'
// latency overlaps.
template <int kN>
__device__ inline void MmaTf32x3(float (*acc)[4], const FragA& a, const FragB* b) {
  const float zero[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  float part[kN][4];
#pragma unroll
  for (int j = 0; j < kN; ++j) MmaTf32(part[j], a.lo, b[j].hi, zero);
#pragma unroll
  for (int j = 0; j < kN; ++j) MmaTf32(part[j], a.hi, b[j].lo, part[j]);
#pragma unroll
  for (int j = 0; j < kN; ++j) MmaTf32(part[j], a.hi, b[j].hi, part[j]);
#pragma unroll
  for (int j = 0; j < kN; ++j) {
#pragma unroll
    for (int i = 0; i < 4; ++i) acc[j][i] += part[j][i];
  }
}

}  // namespace lightrl::kernels::cuda::internal

#endif  // LIGHTRL_KERNELS_CUDA_MMA_TF32X3_CUH_
