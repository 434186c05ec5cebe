#include "kernels/cuda/device.h"

#include <cstdint>

#include "kernels/cuda/matmul.h"

namespace lightrl::kernels::cuda {
namespace internal {

void DieOnCudaError(cudaError_t error, const char* call, const char* file, int line) {
  ::lightrl::internal::LogMessage(LogLevel::kFatal, file, line).stream()
      << "CUDA call failed: " << call << ": " << cudaGetErrorName(error) << " ("
      << cudaGetErrorString(error) << ")";
  std::abort();
}

void DieOnCublasError(cublasStatus_t status, const char* call, const char* file, int line) {
  ::lightrl::internal::LogMessage(LogLevel::kFatal, file, line).stream()
      << "cuBLAS call failed: " << call << ": " << cublasGetStatusName(status) << " ("
      << cublasGetStatusString(status) << ")";
  std::abort();
}

}  // namespace internal

int DeviceCount(std::string* why) {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    if (why != nullptr)
      *why = std::string(cudaGetErrorName(error)) + ": " + cudaGetErrorString(error);
    cudaGetLastError();  // clears the sticky error so later calls start clean
    return 0;
  }
  if (count == 0 && why != nullptr) *why = "the CUDA runtime reports no device";
  return count;
}

Status CudaStatus(cudaError_t error, const std::string& what) {
  std::string message =
      what + ": " + cudaGetErrorName(error) + " (" + cudaGetErrorString(error) + ")";
  cudaGetLastError();
  if (error == cudaErrorMemoryAllocation) return ResourceExhaustedError(std::move(message));
  return InternalError(std::move(message));
}

StatusOr<DeviceInfo> GetDeviceInfo(int device) {
  std::string why;
  const int count = DeviceCount(&why);
  if (device < 0 || device >= count) {
    return InvalidArgumentError("CUDA device " + std::to_string(device) + " does not exist (" +
                                std::to_string(count) + " devices" +
                                (why.empty() ? "" : "; " + why) + ")");
  }
  cudaDeviceProp prop{};
  const cudaError_t error = cudaGetDeviceProperties(&prop, device);
  if (error != cudaSuccess) return CudaStatus(error, "cudaGetDeviceProperties");
  DeviceInfo info;
  info.name = prop.name;
  info.multiprocessors = prop.multiProcessorCount;
  info.global_memory = prop.totalGlobalMem;
  info.compute_major = prop.major;
  info.compute_minor = prop.minor;
  return info;
}

StatusOr<std::unique_ptr<CudaContext>> CudaContext::Create(int device) {
  std::string why;
  const int count = DeviceCount(&why);
  if (count == 0) return FailedPreconditionError("no CUDA device: " + why);
  if (device < 0 || device >= count) {
    return InvalidArgumentError("CUDA device " + std::to_string(device) + " does not exist (" +
                                std::to_string(count) + " devices)");
  }
  std::unique_ptr<CudaContext> ctx(new CudaContext());
  ctx->device_ = device;
  cudaError_t error = cudaSetDevice(device);
  if (error != cudaSuccess) return CudaStatus(error, "cudaSetDevice");
  error = cudaStreamCreateWithFlags(&ctx->stream_, cudaStreamNonBlocking);
  if (error != cudaSuccess) return CudaStatus(error, "cudaStreamCreate");
  cudaMemPool_t pool = nullptr;
  error = cudaDeviceGetDefaultMemPool(&pool, device);
  if (error != cudaSuccess) return CudaStatus(error, "cudaDeviceGetDefaultMemPool");
  uint64_t keep_everything = UINT64_MAX;
  error = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_everything);
  if (error != cudaSuccess) return CudaStatus(error, "cudaMemPoolSetAttribute");
  ASSIGN_OR_RETURN(ctx->matmul_, internal::MatmulPlans::Create());
  return ctx;
}

namespace {
cudaMemPool_t DefaultPool(int device) {
  cudaMemPool_t pool = nullptr;
  LIGHTRL_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  return pool;
}
}  // namespace

size_t ScratchPeakBytes(int device) {
  uint64_t peak = 0;
  LIGHTRL_CUDA_CHECK(
      cudaMemPoolGetAttribute(DefaultPool(device), cudaMemPoolAttrUsedMemHigh, &peak));
  return peak;
}

void ResetScratchPeak(int device) {
  uint64_t zero = 0;
  LIGHTRL_CUDA_CHECK(
      cudaMemPoolSetAttribute(DefaultPool(device), cudaMemPoolAttrUsedMemHigh, &zero));
}

CudaContext::~CudaContext() {
  if (stream_ != nullptr) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
}

}  // namespace lightrl::kernels::cuda
