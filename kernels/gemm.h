// Dense matrix products through OpenBLAS (row-major).
//
// Every GEMM of the model goes through Gemm(). In the bf16 precision mode the two inputs
// are rounded to bfloat16 (round-to-nearest-even) before an FP32 product with FP32
// accumulation. Large products are split by rows or columns over the kernels' thread pool
// (parallel.h). Thread-safety: reentrant; from inside a pool loop it runs in the calling
// thread.
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

// C[m×n] = A[m×k] · W[n×k]ᵀ (+ C when `accumulate`): the product of row vectors with a
// weight stored as [out, in], as every projection of the model uses it.
template <typename T>
void MatMulWt(const T* a, int m, int k, const T* w, int n, T* c, bool accumulate,
              const GemmOptions& options = {});

// The same product computed in calls of exactly `group` rows (the last group is padded
// with zero rows). OpenBLAS computes each row of a call with the same instruction
// sequence wherever the row sits and whatever the other rows hold, but the sequence
// can change with the number of rows; fixed groups make a row's result independent of
// how many other rows are computed beside it (used by batched decoding).
template <typename T>
void MatMulWtRowGroups(const T* a, int m, int k, const T* w, int n, T* c, int group,
                       const GemmOptions& options = {});

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_GEMM_H_
