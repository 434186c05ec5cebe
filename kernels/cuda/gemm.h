// Matrix products on the GPU through cuBLAS, row-major like kernels/gemm.h.
//
// Two precisions: FP32 (FP32 inputs, FP32 arithmetic, no TF32: the LM head and the FP32
// trunk) and bf16 (inputs rounded to bfloat16 round-to-nearest-even, FP32 accumulation,
// FP32 output: the GPU trunk). The bf16 product equals kernels::Gemm with
// GemmOptions::bf16_inputs up to the order of the FP32 accumulation.
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

enum class GemmPrecision { kFp32, kBf16 };

// C[m×n] = alpha · op(A) · op(B) + beta · C, op(A) m×k, op(B) k×n. With beta == 0, C is not
// read. m, n or k may be 0.
void Gemm(const CudaContext& ctx, GemmPrecision precision, Transpose trans_a, Transpose trans_b,
          int m, int n, int k, float alpha, const Matrix& a, const Matrix& b, float beta, float* c,
          int ldc);

// out[r·ld_out + c] = bf16(in[r·ld_in + c]) for r < rows, c < cols (round-to-nearest-even).
void ConvertToBf16(const CudaContext& ctx, const float* in, int ld_in, int rows, int cols,
                   bf16* out, int ld_out);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_GEMM_H_
