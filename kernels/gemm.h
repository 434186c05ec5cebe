// Dense matrix products through OpenBLAS (row-major).
//
// Every GEMM of the model goes through Gemm() or MatMulWt(). In the bf16 precision mode the
// two inputs are rounded to bfloat16 (round-to-nearest-even) before an FP32 product with
// FP32 accumulation. Large products are split by rows or columns over the kernels' thread
// pool (parallel.h). Thread-safety: reentrant; from inside a pool loop it runs in the
// calling thread.
#ifndef LIGHTRL_KERNELS_GEMM_H_
#define LIGHTRL_KERNELS_GEMM_H_

namespace lightrl::kernels {

enum class Transpose { kNo, kYes };

struct GemmOptions {
  bool bf16_inputs = false;
};

// C[m×n] = alpha · op(A) · op(B) + beta · C, where op(A) is m×k and op(B) is k×n.
// lda/ldb/ldc are the row strides of A, B and C as stored. With beta == 0, C is not read.
template <typename T>
void Gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, T alpha, const T* a, int lda,
          const T* b, int ldb, T beta, T* c, int ldc, const GemmOptions& options = {});

// C[m×n] = A[m×k] · W[n×k]ᵀ: the product of row vectors with a weight stored as [out, in],
// as every projection of the model uses it. Row-stable: a row of C depends only on its row
// of A, on W and on the options, not on m or on the other rows, so a token's projection
// has the same bits in a training batch of thousands and in a decoding step of one.
// (OpenBLAS 0.3.21 rounds differently in its small-matrix kernels, which some CPUs use for
// m·n·k ≤ 1e6; calls are padded with zero rows to stay on its general path, which rounds
// every row alike whatever m is: gemm_test checks this for the model's shapes.)
template <typename T>
void MatMulWt(const T* a, int m, int k, const T* w, int n, T* c, const GemmOptions& options = {});

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_GEMM_H_
