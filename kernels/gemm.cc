#include "kernels/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/logging.h"
#include "kernels/bf16.h"

namespace lightrl::kernels {
namespace {

CBLAS_TRANSPOSE ToCblas(Transpose t) { return t == Transpose::kNo ? CblasNoTrans : CblasTrans; }

void CallBlas(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha,
              const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void CallBlas(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha,
              const double* a, int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Below this many multiply-adds a GEMM runs in the calling thread.
constexpr double kParallelMacs = 1 << 17;
// Column blocks handed to threads are multiples of this (OpenBLAS's widest unroll).
constexpr int kColumnAlign = 32;

// OpenBLAS runs single-threaded; the OpenMP pool splits the columns of C (see threading.h).
void UseSingleThreadedBlas() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

// C = alpha·op(A)·op(B) + beta·C with the columns of C (and of op(B)) split over threads.
// The split depends only on n and the thread count, never on m, so a row's values do not
// depend on how many rows are computed with it.
template <typename T>
void ParallelBlas(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, T alpha, const T* a,
                  int lda, const T* b, int ldb, T beta, T* c, int ldc) {
  UseSingleThreadedBlas();
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const double macs = static_cast<double>(m) * n * k;
  const int per_thread = (n + threads - 1) / threads;
  const int chunk = (per_thread + kColumnAlign - 1) / kColumnAlign * kColumnAlign;
  const int parts = (n + chunk - 1) / chunk;
  if (threads == 1 || parts == 1 || macs < kParallelMacs) {
    CallBlas(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#pragma omp parallel for num_threads(parts) schedule(static, 1)
  for (int part = 0; part < parts; ++part) {
    const int n0 = part * chunk, cols = std::min(chunk, n - n0);
    const T* b_part = tb == CblasNoTrans ? b + n0 : b + static_cast<size_t>(n0) * ldb;
    CallBlas(ta, tb, m, cols, k, alpha, a, lda, b_part, ldb, beta, c + n0, ldc);
  }
}

// Rounds a stored matrix of `rows` rows with stride `ld` (only the first `cols` of each
// row are used) into `scratch`, which keeps the stride.
template <typename T>
const T* RoundedCopy(const T* x, int rows, int cols, int ld, std::vector<T>& scratch) {
  scratch.resize(static_cast<size_t>(rows) * ld);
  for (int r = 0; r < rows; ++r) {
    RoundToBf16(x + static_cast<size_t>(r) * ld, scratch.data() + static_cast<size_t>(r) * ld,
                static_cast<size_t>(cols));
  }
  return scratch.data();
}

}  // namespace

template <typename T>
void Gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, T alpha, const T* a, int lda,
          const T* b, int ldb, T beta, T* c, int ldc, const GemmOptions& options) {
  CHECK(m >= 0 && n >= 0 && k >= 0);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int i = 0; i < m; ++i) {
      T* row = c + static_cast<size_t>(i) * ldc;
      for (int j = 0; j < n; ++j) row[j] = beta == T(0) ? T(0) : beta * row[j];
    }
    return;
  }
  if (options.bf16_inputs) {
    thread_local std::vector<T> a_scratch, b_scratch;
    const bool a_rows_are_m = trans_a == Transpose::kNo;
    a = RoundedCopy(a, a_rows_are_m ? m : k, a_rows_are_m ? k : m, lda, a_scratch);
    const bool b_rows_are_k = trans_b == Transpose::kNo;
    b = RoundedCopy(b, b_rows_are_k ? k : n, b_rows_are_k ? n : k, ldb, b_scratch);
  }
  ParallelBlas(ToCblas(trans_a), ToCblas(trans_b), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <typename T>
void MatMulWt(const T* a, int m, int k, const T* w, int n, T* c, bool accumulate,
              const GemmOptions& options) {
  Gemm<T>(Transpose::kNo, Transpose::kYes, m, n, k, T(1), a, k, w, k, accumulate ? T(1) : T(0), c,
          n, options);
}

template <typename T>
void MatMulWtRowGroups(const T* a, int m, int k, const T* w, int n, T* c, int group,
                       const GemmOptions& options) {
  CHECK_GT(group, 0);
  thread_local std::vector<T> padded_in, padded_out;
  for (int r0 = 0; r0 < m; r0 += group) {
    const int rows = std::min(group, m - r0);
    const T* in = a + static_cast<size_t>(r0) * k;
    T* out = c + static_cast<size_t>(r0) * n;
    if (rows == group) {
      MatMulWt(in, group, k, w, n, out, false, options);
      continue;
    }
    padded_in.assign(static_cast<size_t>(group) * k, T(0));
    std::memcpy(padded_in.data(), in, sizeof(T) * rows * k);
    padded_out.resize(static_cast<size_t>(group) * n);
    MatMulWt(padded_in.data(), group, k, w, n, padded_out.data(), false, options);
    std::memcpy(out, padded_out.data(), sizeof(T) * rows * n);
  }
}

#define LIGHTRL_INSTANTIATE_GEMM(T)                                                              \
  template void Gemm<T>(Transpose, Transpose, int, int, int, T, const T*, int, const T*, int, T, \
                        T*, int, const GemmOptions&);                                            \
  template void MatMulWt<T>(const T*, int, int, const T*, int, T*, bool, const GemmOptions&);    \
  template void MatMulWtRowGroups<T>(const T*, int, int, const T*, int, T*, int,                 \
                                     const GemmOptions&);
LIGHTRL_INSTANTIATE_GEMM(float)
LIGHTRL_INSTANTIATE_GEMM(double)
#undef LIGHTRL_INSTANTIATE_GEMM

}  // namespace lightrl::kernels
