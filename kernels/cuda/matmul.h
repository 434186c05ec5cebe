// Matrix products through cuBLASLt, with the algorithm chosen once per class of shapes.
//
// cuBLAS picks an algorithm per call by a heuristic that it caches per exact shape; a model
// whose shapes change every step (rows per expert after routing, tokens per batch) pays
// that query, 0.1–0.5 ms of host time, on most of its products, which leaves the GPU idle
// (a training step of the 494M model spent two thirds of its time there). MatmulPlans asks
// the heuristic once per class instead: the dimensions that can vary without changing a
// layout's leading dimension (the column counts of the column-major layouts, i.e. the row
// counts of our row-major matrices) are rounded up to a power of two for the query, and the
// algorithm found is kept for every shape of the class. Pointer alignments, leading
// dimensions, types and transposes are part of the class. An algorithm that cuBLASLt
// refuses for an exact shape falls back to a query for that shape.
//
// The result of a product is the same as with any other cuBLAS algorithm up to the order of
// the FP32 accumulation; it is deterministic for a given shape class.
// Errors: a refused product is a broken invariant and aborts (device.h).
// Thread-safety: one per CudaContext, used by that context's thread.
#ifndef LIGHTRL_KERNELS_CUDA_MATMUL_H_
#define LIGHTRL_KERNELS_CUDA_MATMUL_H_

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <compare>
#include <cstdint>
#include <map>
#include <memory>

#include "core/status.h"

namespace lightrl::kernels::cuda::internal {

// A column-major operand: values of `type` with leading dimension ld.
struct MatmulOperand {
  const void* data = nullptr;
  cudaDataType_t type = CUDA_R_32F;
  int ld = 0;
};

class MatmulPlans {
 public:
  // For the current device. ResourceExhausted when the workspace does not fit.
  static StatusOr<std::unique_ptr<MatmulPlans>> Create();
  ~MatmulPlans();
  MatmulPlans(const MatmulPlans&) = delete;
  MatmulPlans& operator=(const MatmulPlans&) = delete;

  // cuBLAS's convention, column-major: C[m×n] = alpha·op(A)[m×k]·op(B)[k×n] + beta·C, FP32
  // accumulation (no TF32), FP32 C, on `stream`.
  void Run(cudaStream_t stream, cublasOperation_t trans_a, cublasOperation_t trans_b, int m, int n,
           int k, float alpha, const MatmulOperand& a, const MatmulOperand& b, float beta, float* c,
           int ldc);

  // Heuristic queries so far (one per shape class, plus any exact-shape fallbacks).
  int64_t queries() const { return queries_; }

 private:
  struct Key {
    cublasOperation_t trans_a, trans_b;
    int m, n, k;  // n and k rounded up where they are column counts
    cudaDataType_t type_a, type_b;
    int lda, ldb, ldc;
    int align_a, align_b, align_c;
    auto operator<=>(const Key&) const = default;
  };
  MatmulPlans() = default;
  // The heuristic's first algorithm for `key`'s shape.
  cublasLtMatmulAlgo_t Query(const Key& key);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  std::map<Key, cublasLtMatmulAlgo_t> algorithms_;
  int64_t queries_ = 0;
};

}  // namespace lightrl::kernels::cuda::internal

#endif  // LIGHTRL_KERNELS_CUDA_MATMUL_H_
