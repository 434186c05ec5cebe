#include "kernels/cuda/matmul.h"

#include <bit>

#include "kernels/cuda/device.h"

namespace lightrl::kernels::cuda::internal {
namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;  // cuBLAS's own default on Hopper

int RoundUpToPowerOfTwo(int x) { return x <= 1 ? 1 : static_cast<int>(std::bit_ceil(unsigned(x))); }

// The largest power of two (up to 256, cuBLASLt's strictest requirement) dividing p.
int Alignment(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  return address == 0 ? 256 : static_cast<int>(std::min<uintptr_t>(256, address & -address));
}

// The descriptors of one product, destroyed with it.
struct Descriptors {
  cublasLtMatmulDesc_t matmul = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;

  Descriptors(cublasOperation_t trans_a, cublasOperation_t trans_b, int m, int n, int k,
              cudaDataType_t type_a, int lda, cudaDataType_t type_b, int ldb, int ldc) {
    LIGHTRL_CUBLAS_CHECK(cublasLtMatmulDescCreate(&matmul, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LIGHTRL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(matmul, CUBLASLT_MATMUL_DESC_TRANSA,
                                                        &trans_a, sizeof(trans_a)));
    LIGHTRL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(matmul, CUBLASLT_MATMUL_DESC_TRANSB,
                                                        &trans_b, sizeof(trans_b)));
    const bool ta = trans_a != CUBLAS_OP_N, tb = trans_b != CUBLAS_OP_N;
    LIGHTRL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&a, type_a, ta ? k : m, ta ? m : k, lda));
    LIGHTRL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&b, type_b, tb ? n : k, tb ? k : n, ldb));
    LIGHTRL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&c, CUDA_R_32F, m, n, ldc));
  }
  ~Descriptors() {
    cublasLtMatrixLayoutDestroy(c);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatmulDescDestroy(matmul);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

}  // namespace

StatusOr<std::unique_ptr<MatmulPlans>> MatmulPlans::Create() {
  std::unique_ptr<MatmulPlans> plans(new MatmulPlans());
  const cublasStatus_t status = cublasLtCreate(&plans->handle_);
  if (status != CUBLAS_STATUS_SUCCESS) {
    return InternalError(std::string("cublasLtCreate: ") + cublasGetStatusString(status));
  }
  const cudaError_t error = cudaMalloc(&plans->workspace_, kWorkspaceBytes);
  if (error != cudaSuccess) return CudaStatus(error, "cudaMalloc of the cuBLASLt workspace");
  plans->workspace_bytes_ = kWorkspaceBytes;
  return plans;
}

MatmulPlans::~MatmulPlans() {
  if (workspace_ != nullptr) cudaFree(workspace_);
  if (handle_ != nullptr) cublasLtDestroy(handle_);
}

cublasLtMatmulAlgo_t MatmulPlans::Query(const Key& key) {
  ++queries_;
  Descriptors d(key.trans_a, key.trans_b, key.m, key.n, key.k, key.type_a, key.lda, key.type_b,
                key.ldb, key.ldc);
  cublasLtMatmulPreference_t preference = nullptr;
  LIGHTRL_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
  // Each attribute has its own type: uint64_t for the workspace, uint32_t for alignments.
  auto set = [&](cublasLtMatmulPreferenceAttributes_t attribute, auto value) {
    LIGHTRL_CUBLAS_CHECK(
        cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, sizeof(value)));
  };
  set(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, static_cast<uint64_t>(workspace_bytes_));
  set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, static_cast<uint32_t>(key.align_a));
  set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, static_cast<uint32_t>(key.align_b));
  set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, static_cast<uint32_t>(key.align_c));
  set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, static_cast<uint32_t>(key.align_c));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  LIGHTRL_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle_, d.matmul, d.a, d.b, d.c, d.c,
                                                      preference, 1, &result, &found));
  cublasLtMatmulPreferenceDestroy(preference);
  CHECK_EQ(found, 1) << "cuBLASLt has no algorithm for a " << key.m << "x" << key.n << "x" << key.k
                     << " product";
  return result.algo;
}

void MatmulPlans::Run(cudaStream_t stream, cublasOperation_t trans_a, cublasOperation_t trans_b,
                      int m, int n, int k, float alpha, const MatmulOperand& a,
                      const MatmulOperand& b, float beta, float* c, int ldc) {
  const bool ta = trans_a != CUBLAS_OP_N, tb = trans_b != CUBLAS_OP_N;
  Key exact{
      trans_a,           trans_b,           m,           n, k, a.type, b.type, a.ld, b.ld, ldc,
      Alignment(a.data), Alignment(b.data), Alignment(c)};
  // n is a column count unless B is transposed; k only when A is transposed and B is not.
  Key key = exact;
  if (!tb) key.n = RoundUpToPowerOfTwo(n);
  if (!ta && tb) key.k = RoundUpToPowerOfTwo(k);
  auto kept = algorithms_.find(key);
  if (kept == algorithms_.end()) kept = algorithms_.emplace(key, Query(key)).first;
  Descriptors d(trans_a, trans_b, m, n, k, a.type, a.ld, b.type, b.ld, ldc);
  auto run = [&](const cublasLtMatmulAlgo_t& algorithm) {
    return cublasLtMatmul(handle_, d.matmul, &alpha, a.data, d.a, b.data, d.b, &beta, c, d.c, c,
                          d.c, &algorithm, workspace_, workspace_bytes_, stream);
  };
  const cublasStatus_t status = run(kept->second);
  if (status == CUBLAS_STATUS_NOT_SUPPORTED || status == CUBLAS_STATUS_INVALID_VALUE) {
    LIGHTRL_CUBLAS_CHECK(run(Query(exact)));
    return;
  }
  LIGHTRL_CUBLAS_CHECK(status);
}

}  // namespace lightrl::kernels::cuda::internal
