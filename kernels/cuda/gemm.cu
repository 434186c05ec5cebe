#include <cstdint>
#include <limits>
#include <utility>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/matmul.h"

namespace lightrl::kernels::cuda {
namespace {

cublasOperation_t Op(Transpose t) { return t == Transpose::kNo ? CUBLAS_OP_N : CUBLAS_OP_T; }

// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLAS gets (B, A) with the
// same transposes and the dimensions (n, m, k).
void RowMajorProduct(const CudaContext& ctx, Transpose trans_a, Transpose trans_b, int m, int n,
                     int k, float alpha, const void* a, int lda, const void* b, int ldb,
                     cudaDataType_t type, float beta, float* c, int ldc) {
  ctx.matmul().Run(ctx.stream(), Op(trans_b), Op(trans_a), n, m, k, alpha, {b, type, ldb},
                   {a, type, lda}, beta, c, ldc);
}

}  // namespace

void ConvertToBf16(const CudaContext& ctx, const float* in, int ld_in, int rows, int cols,
                   bf16* out, int ld_out) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t total = static_cast<int64_t>(rows) * cols;
  if (ld_in == cols && ld_out == cols && total <= std::numeric_limits<int>::max()) {
    ld_in = ld_out = cols = static_cast<int>(total);  // one contiguous run
    rows = 1;
  }
  const bool by4 = cols % 4 == 0 && ld_in % 4 == 0 && ld_out % 4 == 0 &&
                   reinterpret_cast<uintptr_t>(in) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(out) % 8 == 0;
  if (!by4) {
    internal::ForEachRowColumn(ctx, rows, cols, [=] __device__(int64_t r, int64_t c) {
      out[r * ld_out + c] = __float2bfloat16_rn(in[r * ld_in + c]);
    });
    return;
  }
  // Four columns per thread: 16-byte loads, 8-byte stores.
  const auto* in4 = reinterpret_cast<const float4*>(in);
  auto* out2 = reinterpret_cast<__nv_bfloat162*>(out);
  const int64_t ld_in4 = ld_in / 4, ld_out2 = ld_out / 2;
  internal::ForEachRowColumn(ctx, rows, cols / 4, [=] __device__(int64_t r, int64_t c) {
    const float4 v = in4[r * ld_in4 + c];
    __nv_bfloat162* o = out2 + r * ld_out2 + 2 * c;
    o[0] = __floats2bfloat162_rn(v.x, v.y);
    o[1] = __floats2bfloat162_rn(v.z, v.w);
  });
}

void SplitToBf16(const CudaContext& ctx, const float* in, int ld_in, int rows, int cols, bf16* hi,
                 bf16* lo, int ld_out, bf16* hi_again) {
  internal::ForEachRowColumn(ctx, rows, cols, [=] __device__(int64_t r, int64_t c) {
    const float x = in[r * ld_in + c];
    const bf16 h = __float2bfloat16_rn(x);
    const int64_t o = r * ld_out + c;
    hi[o] = h;
    lo[o] = __float2bfloat16_rn(x - __bfloat162float(h));
    if (hi_again != nullptr) hi_again[o] = h;
  });
}

void SplitGemm(const CudaContext& ctx, Transpose trans_a, Transpose trans_b, int m, int n, int k,
               float alpha, const SplitMatrix& a, const SplitMatrix& b, float beta, float* c,
               int ldc) {
  if (m <= 0 || n <= 0) return;
  // The small terms first, then the large one, each added into C.
  const std::pair<const bf16*, const bf16*> terms[] = {{a.lo, b.hi}, {a.hi, b.lo}, {a.hi, b.hi}};
  for (const auto& [a16, b16] : terms) {
    RowMajorProduct(ctx, trans_a, trans_b, m, n, k, alpha, a16, a.ld, b16, b.ld, CUDA_R_16BF, beta,
                    c, ldc);
    beta = 1.0f;
  }
}

void Gemm(const CudaContext& ctx, GemmPrecision precision, Transpose trans_a, Transpose trans_b,
          int m, int n, int k, float alpha, const Matrix& a, const Matrix& b, float beta, float* c,
          int ldc) {
  if (m <= 0 || n <= 0) return;
  if (precision == GemmPrecision::kFp32) {
    RowMajorProduct(ctx, trans_a, trans_b, m, n, k, alpha, a.f32, a.ld, b.f32, b.ld, CUDA_R_32F,
                    beta, c, ldc);
    return;
  }
  // The operand as stored: rows × cols with stride ld.
  auto stored_rows = [&](Transpose t, int outer, int inner) {
    return t == Transpose::kNo ? outer : inner;
  };
  const int a_rows = stored_rows(trans_a, m, k), a_cols = stored_rows(trans_a, k, m);
  const int b_rows = stored_rows(trans_b, k, n), b_cols = stored_rows(trans_b, n, k);
  if (precision == GemmPrecision::kBf16x3) {
    const size_t a_size = static_cast<size_t>(a_rows) * a_cols;
    const size_t b_size = static_cast<size_t>(b_rows) * b_cols;
    Scratch<bf16> parts(ctx, 2 * (a_size + b_size));
    bf16* a_hi = parts.data();
    bf16* b_hi = a_hi + 2 * a_size;
    SplitToBf16(ctx, a.f32, a.ld, a_rows, a_cols, a_hi, a_hi + a_size, a_cols);
    SplitToBf16(ctx, b.f32, b.ld, b_rows, b_cols, b_hi, b_hi + b_size, b_cols);
    const SplitMatrix a_split{a_hi, a_hi + a_size, a_cols}, b_split{b_hi, b_hi + b_size, b_cols};
    SplitGemm(ctx, trans_a, trans_b, m, n, k, alpha, a_split, b_split, beta, c, ldc);
    return;
  }
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
  RowMajorProduct(ctx, trans_a, trans_b, m, n, k, alpha, a16, lda, b16, ldb, CUDA_R_16BF, beta, c,
                  ldc);
}

}  // namespace lightrl::kernels::cuda
