#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm.h"

namespace lightrl::kernels::cuda {
namespace {

__global__ void ConvertToBf16Kernel(const float* in, int64_t ld_in, int rows, int cols, bf16* out,
                                    int64_t ld_out) {
  const int64_t total = static_cast<int64_t>(rows) * cols;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, c = i % cols;
    out[r * ld_out + c] = __float2bfloat16_rn(in[r * ld_in + c]);
  }
}

cublasOperation_t Op(Transpose t) { return t == Transpose::kNo ? CUBLAS_OP_N : CUBLAS_OP_T; }

}  // namespace

void ConvertToBf16(const CudaContext& ctx, const float* in, int ld_in, int rows, int cols,
                   bf16* out, int ld_out) {
  if (rows <= 0 || cols <= 0) return;
  ConvertToBf16Kernel<<<internal::GridFor(static_cast<int64_t>(rows) * cols, 256), 256, 0,
                        ctx.stream()>>>(in, ld_in, rows, cols, out, ld_out);
  LIGHTRL_CUDA_CHECK_LAUNCH();
}

void Gemm(const CudaContext& ctx, GemmPrecision precision, Transpose trans_a, Transpose trans_b,
          int m, int n, int k, float alpha, const Matrix& a, const Matrix& b, float beta, float* c,
          int ldc) {
  if (m <= 0 || n <= 0) return;
  // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLAS gets (B, A) with
  // the same transposes and the dimensions (n, m, k).
  if (precision == GemmPrecision::kFp32) {
    LIGHTRL_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), Op(trans_b), Op(trans_a), n, m, k, &alpha,
                                      b.f32, CUDA_R_32F, b.ld, a.f32, CUDA_R_32F, a.ld, &beta, c,
                                      CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return;
  }
  // The operand as stored: rows × cols with stride ld.
  auto stored_rows = [&](Transpose t, int outer, int inner) {
    return t == Transpose::kNo ? outer : inner;
  };
  const int a_rows = stored_rows(trans_a, m, k), a_cols = stored_rows(trans_a, k, m);
  const int b_rows = stored_rows(trans_b, k, n), b_cols = stored_rows(trans_b, n, k);
  const bf16* a16 = a.bf16_copy;
  const bf16* b16 = b.bf16_copy;
  int lda = a.ld, ldb = b.ld;
  std::unique_ptr<Scratch<bf16>> a_scratch, b_scratch;
  if (a16 == nullptr && k > 0) {
    a_scratch = std::make_unique<Scratch<bf16>>(ctx, static_cast<size_t>(a_rows) * a_cols);
    ConvertToBf16(ctx, a.f32, a.ld, a_rows, a_cols, a_scratch->data(), a_cols);
    a16 = a_scratch->data();
    lda = a_cols;
  }
  if (b16 == nullptr && k > 0) {
    b_scratch = std::make_unique<Scratch<bf16>>(ctx, static_cast<size_t>(b_rows) * b_cols);
    ConvertToBf16(ctx, b.f32, b.ld, b_rows, b_cols, b_scratch->data(), b_cols);
    b16 = b_scratch->data();
    ldb = b_cols;
  }
  LIGHTRL_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), Op(trans_b), Op(trans_a), n, m, k, &alpha, b16,
                                    CUDA_R_16BF, ldb, a16, CUDA_R_16BF, lda, &beta, c, CUDA_R_32F,
                                    ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace lightrl::kernels::cuda
