#include "kernels/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/logging.h"
#include "kernels/bf16.h"
#include "kernels/parallel.h"

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
constexpr int64_t kParallelMacs = 1 << 17;
// From this many rows of C per thread on, the rows are split (measured on 2 Zen 4 cores:
// as fast as OpenBLAS's own threading); fewer rows split the columns instead.
constexpr int kMinRowsPerThread = 128;
// Row and column blocks handed to threads are multiples of these (OpenBLAS's unrolls).
constexpr int kRowAlign = 16;
constexpr int kColumnAlign = 32;

// OpenBLAS runs single-threaded; the kernels' pool splits the work (parallel.h).
void UseSingleThreadedBlas() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

int Blocks(int extent, int threads, int align, int* block) {
  const int per_thread = (extent + threads - 1) / threads;
  *block = (per_thread + align - 1) / align * align;
  return (extent + *block - 1) / *block;
}

// Splits C[m×n] by rows (at least kMinRowsPerThread per thread) or else by columns over
// the pool, and runs block(m0, rows, n0, cols) for each part. The split depends only on the
// shape.
template <typename Block>
void SplitOverPool(int m, int n, int k, Block&& block) {
  UseSingleThreadedBlas();
  const int threads = internal::InsidePool() ? 1 : NumThreads();
  if (threads == 1 || static_cast<double>(m) * n * k < kParallelMacs) {
    block(0, m, 0, n);
    return;
  }
  int size = 0;
  if (m >= kMinRowsPerThread * threads) {
    const int parts = Blocks(m, threads, kRowAlign, &size);
    ParallelForIndex(parts, kParallelMacs, [&](int64_t part) {
      const int m0 = static_cast<int>(part) * size;
      block(m0, std::min(size, m - m0), 0, n);
    });
    return;
  }
  const int parts = Blocks(n, threads, kColumnAlign, &size);
  ParallelForIndex(parts, kParallelMacs, [&](int64_t part) {
    const int n0 = static_cast<int>(part) * size;
    block(0, m, n0, std::min(size, n - n0));
  });
}

// The fewest rows with which OpenBLAS takes its general path for an n×k weight: more than
// 1e6 multiply-adds (its small-matrix threshold) and at least 2 rows (newer versions send
// single rows to gemv).
int StableMinRows(int n, int k) {
  return std::max(2, static_cast<int>(1e6 / (static_cast<double>(n) * k)) + 1);
}

// C[m×n] (row stride ldc) = A[m×k] · W[n×k]ᵀ on OpenBLAS's general path.
template <typename T>
void CallStableRows(const T* a, int m, int k, const T* w, int n, T* c, int ldc) {
  const int rows = StableMinRows(n, k);
  if (m >= rows) {
    CallBlas(CblasNoTrans, CblasTrans, m, n, k, T(1), a, k, w, k, T(0), c, ldc);
    return;
  }
  thread_local std::vector<T> padded_in, padded_out;
  padded_in.assign(static_cast<size_t>(rows) * k, T(0));
  std::memcpy(padded_in.data(), a, sizeof(T) * m * k);
  padded_out.resize(static_cast<size_t>(rows) * n);
  CallBlas(CblasNoTrans, CblasTrans, rows, n, k, T(1), padded_in.data(), k, w, k, T(0),
           padded_out.data(), n);
  for (int r = 0; r < m; ++r) {
    std::memcpy(c + static_cast<size_t>(r) * ldc, padded_out.data() + static_cast<size_t>(r) * n,
                sizeof(T) * n);
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
  const CBLAS_TRANSPOSE ta = ToCblas(trans_a), tb = ToCblas(trans_b);
  SplitOverPool(m, n, k, [&](int m0, int rows, int n0, int cols) {
    const T* a_part = ta == CblasNoTrans ? a + static_cast<size_t>(m0) * lda : a + m0;
    const T* b_part = tb == CblasNoTrans ? b + n0 : b + static_cast<size_t>(n0) * ldb;
    CallBlas(ta, tb, rows, cols, k, alpha, a_part, lda, b_part, ldb, beta,
             c + static_cast<size_t>(m0) * ldc + n0, ldc);
  });
}

template <typename T>
void MatMulWt(const T* a, int m, int k, const T* w, int n, T* c, const GemmOptions& options) {
  CHECK(m >= 0 && n > 0 && k > 0);
  if (m == 0) return;
  if (options.bf16_inputs) {
    thread_local std::vector<T> a_scratch, w_scratch;
    a = RoundedCopy(a, m, k, k, a_scratch);
    w = RoundedCopy(w, n, k, k, w_scratch);
  }
  SplitOverPool(m, n, k, [&](int m0, int rows, int n0, int cols) {
    CallStableRows(a + static_cast<size_t>(m0) * k, rows, k, w + static_cast<size_t>(n0) * k, cols,
                   c + static_cast<size_t>(m0) * n + n0, n);
  });
}

#define LIGHTRL_INSTANTIATE_GEMM(T)                                                              \
  template void Gemm<T>(Transpose, Transpose, int, int, int, T, const T*, int, const T*, int, T, \
                        T*, int, const GemmOptions&);                                            \
  template void MatMulWt<T>(const T*, int, int, const T*, int, T*, const GemmOptions&);
LIGHTRL_INSTANTIATE_GEMM(float)
LIGHTRL_INSTANTIATE_GEMM(double)
#undef LIGHTRL_INSTANTIATE_GEMM

}  // namespace lightrl::kernels
