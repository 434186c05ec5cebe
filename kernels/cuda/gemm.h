// Matrix products on the GPU through cuBLAS, row-major like kernels/gemm.h.
//
// Three precisions (GemmPrecision): FP32 (FP32 inputs, FP32 arithmetic, no TF32, no tensor
// cores: the plain FP32 LM head and the FP32 trunk); bf16 (inputs rounded to bfloat16
// round-to-nearest-even, FP32 accumulation, FP32 output: the GPU trunk; equals kernels::Gemm
// with GemmOptions::bf16_inputs up to the order of the FP32 accumulation); and bf16x3, an
// FP32-accurate product on bf16 tensor cores (the LM head's default on the GPU): each FP32
// value x is split into hi = bf16(x) and lo = bf16(x − hi), and the product sums
// lo_A·hi_B + hi_A·lo_B + hi_A·hi_B with FP32 accumulation. hi + lo carries 16 of x's 24
// mantissa bits and the dropped lo_A·lo_B is below 2⁻¹⁶ of each term, so a product is within
// a few 1e-6 (relative) of the FP32 one, against ~3e-3 for bf16; it is not bit-for-bit FP32.
//
// An operand can carry a bf16 copy of itself (the model keeps one of its weights); a bf16
// product uses it instead of rounding the FP32 values into scratch on every call.
// Thread-safety: see device.h (one thread per context).
#ifndef LIGHTRL_KERNELS_CUDA_GEMM_H_
#define LIGHTRL_KERNELS_CUDA_GEMM_H_

#include "kernels/cuda/device.h"
#include "kernels/gemm.h"

namespace lightrl::kernels::cuda {

// A row-major matrix as stored: row stride ld, FP32 values, optionally their bf16 copy with
// the same ld.
struct Matrix {
  const float* f32 = nullptr;
  int ld = 0;
  const bf16* bf16_copy = nullptr;
};

enum class GemmPrecision { kFp32, kBf16, kBf16x3 };

// An FP32 matrix split for the bf16x3 product: hi = bf16(x) and lo = bf16(x − hi), both
// row-major with stride ld (they may be two column blocks of one wider array).
struct SplitMatrix {
  const bf16* hi = nullptr;
  const bf16* lo = nullptr;
  int ld = 0;
};

// C[m×n] = alpha · op(A) · op(B) + beta · C, op(A) m×k, op(B) k×n. With beta == 0, C is not
// read. m, n or k may be 0.
void Gemm(const CudaContext& ctx, GemmPrecision precision, Transpose trans_a, Transpose trans_b,
          int m, int n, int k, float alpha, const Matrix& a, const Matrix& b, float beta, float* c,
          int ldc);

// The bf16x3 product of split operands: C = alpha · (lo_A·hi_B + hi_A·lo_B + hi_A·hi_B)
// + beta · C, as three bf16 tensor-core products accumulated into C (FP32).
void SplitGemm(const CudaContext& ctx, Transpose trans_a, Transpose trans_b, int m, int n, int k,
               float alpha, const SplitMatrix& a, const SplitMatrix& b, float beta, float* c,
               int ldc);

// out[r·ld_out + c] = bf16(in[r·ld_in + c]) for r < rows, c < cols (round-to-nearest-even).
void ConvertToBf16(const CudaContext& ctx, const float* in, int ld_in, int rows, int cols,
                   bf16* out, int ld_out);

// Splits in (rows × cols, stride ld_in) for the bf16x3 product: hi[r·ld_out + c] = bf16(x),
// lo[r·ld_out + c] = bf16(x − hi); hi_again (nullable) receives a second copy of hi with the
// same stride (an operand whose K dimension is tripled holds hi twice).
void SplitToBf16(const CudaContext& ctx, const float* in, int ld_in, int rows, int cols, bf16* hi,
                 bf16* lo, int ld_out, bf16* hi_again = nullptr);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_GEMM_H_
