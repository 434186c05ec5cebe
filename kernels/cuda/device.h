// CUDA plumbing shared by the GPU ops: error checks, device discovery, device buffers and
// the context (stream + cuBLAS handle) every op runs on.
//
// Errors: a failing CUDA or cuBLAS call inside an op is a broken invariant (the inputs were
// validated by the caller) and aborts with the call, the error name and its message
// (LIGHTRL_CUDA_CHECK). Allocations that a caller sizes from its input (DeviceBuffer,
// CudaContext::Create) return ResourceExhausted or Internal instead.
//
// Ordering: every op enqueues its work on ctx.stream() and returns without waiting; results
// are visible to the host after Synchronize() (or a blocking copy on that stream). Scratch
// that an op needs comes from the stream-ordered pool (cudaMallocAsync), which CudaContext
// keeps from returning memory to the driver, so repeated calls do not reallocate.
//
// Thread-safety: a CudaContext is used by one thread at a time. DeviceBuffer is a plain
// owner of device memory (move-only).
#ifndef LIGHTRL_KERNELS_CUDA_DEVICE_H_
#define LIGHTRL_KERNELS_CUDA_DEVICE_H_

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "core/logging.h"
#include "core/status.h"

namespace lightrl::kernels::cuda {

using bf16 = __nv_bfloat16;

namespace internal {
[[noreturn]] void DieOnCudaError(cudaError_t error, const char* call, const char* file, int line);
[[noreturn]] void DieOnCublasError(cublasStatus_t status, const char* call, const char* file,
                                   int line);
}  // namespace internal

}  // namespace lightrl::kernels::cuda

#define LIGHTRL_CUDA_CHECK(call)                                                               \
  do {                                                                                         \
    const cudaError_t lightrl_cuda_error_ = (call);                                            \
    if (lightrl_cuda_error_ != cudaSuccess) {                                                  \
      ::lightrl::kernels::cuda::internal::DieOnCudaError(lightrl_cuda_error_, #call, __FILE__, \
                                                         __LINE__);                            \
    }                                                                                          \
  } while (0)

#define LIGHTRL_CUBLAS_CHECK(call)                                                        \
  do {                                                                                    \
    const cublasStatus_t lightrl_cublas_status_ = (call);                                 \
    if (lightrl_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                \
      ::lightrl::kernels::cuda::internal::DieOnCublasError(lightrl_cublas_status_, #call, \
                                                           __FILE__, __LINE__);           \
    }                                                                                     \
  } while (0)

// After every kernel launch: a bad launch configuration shows up here, not later.
#define LIGHTRL_CUDA_CHECK_LAUNCH() LIGHTRL_CUDA_CHECK(cudaGetLastError())

namespace lightrl::kernels::cuda {

// Number of CUDA devices this process can use: 0 when the driver is missing, no device is
// present or the runtime fails to start; *why (if given) then says which.
int DeviceCount(std::string* why = nullptr);

struct DeviceInfo {
  std::string name;
  int multiprocessors = 0;
  size_t global_memory = 0;  // bytes
  int compute_major = 0, compute_minor = 0;
};

// InvalidArgument for a device index out of range.
StatusOr<DeviceInfo> GetDeviceInfo(int device);

// The Status of a failed runtime call: ResourceExhausted for out-of-memory, Internal else.
Status CudaStatus(cudaError_t error, const std::string& what);

// An owned device array of n elements (uninitialized).
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // ResourceExhausted when the device is out of memory.
  static StatusOr<DeviceBuffer> Allocate(size_t n) {
    DeviceBuffer buffer;
    RETURN_IF_ERROR(buffer.Resize(n));
    return buffer;
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept { *this = std::move(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { Release(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(T); }

  // Makes room for at least n elements; the contents are lost when it grows.
  Status Resize(size_t n) {
    if (n <= size_ && data_ != nullptr) return Status::Ok();
    Release();
    void* ptr = nullptr;
    const cudaError_t error = cudaMalloc(&ptr, (n == 0 ? 1 : n) * sizeof(T));
    if (error != cudaSuccess) {
      return CudaStatus(error, "cudaMalloc of " + std::to_string(n * sizeof(T)) + " bytes");
    }
    data_ = static_cast<T*>(ptr);
    size_ = n;
    return Status::Ok();
  }
  // Resize() that dies on failure, for buffers whose size the caller already checked.
  void MustResize(size_t n) { CHECK_OK(Resize(n)); }

 private:
  void Release() {
    if (data_ != nullptr) LIGHTRL_CUDA_CHECK(cudaFree(data_));
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
};

namespace internal {
class MatmulPlans;
}

// One device, one stream, and the matrix products' cuBLASLt state (matmul.h).
class CudaContext {
 public:
  // Selects `device` for the calling thread. FailedPrecondition without a usable device,
  // InvalidArgument for an index out of range.
  static StatusOr<std::unique_ptr<CudaContext>> Create(int device = 0);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  internal::MatmulPlans& matmul() const { return *matmul_; }
  // Selects this context's device for the calling thread: a context driven from several
  // threads (one at a time) needs it on each thread before its ops.
  void MakeCurrent() const { LIGHTRL_CUDA_CHECK(cudaSetDevice(device_)); }
  // Blocks until every op enqueued so far has finished.
  void Synchronize() const { LIGHTRL_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  CudaContext() = default;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<internal::MatmulPlans> matmul_;
};

// Peak bytes held in the device's stream-ordered pool (the ops' scratch) since the last
// reset; the pool rounds allocations up to its granularity.
size_t ScratchPeakBytes(int device);
void ResetScratchPeak(int device);

// Stream-ordered scratch of n elements, freed (stream-ordered) when it goes out of scope.
template <typename T>
class Scratch {
 public:
  Scratch(const CudaContext& ctx, size_t n) : stream_(ctx.stream()) {
    void* ptr = nullptr;
    LIGHTRL_CUDA_CHECK(cudaMallocAsync(&ptr, (n == 0 ? 1 : n) * sizeof(T), stream_));
    data_ = static_cast<T*>(ptr);
  }
  ~Scratch() { LIGHTRL_CUDA_CHECK(cudaFreeAsync(data_, stream_)); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* data() const { return data_; }

 private:
  cudaStream_t stream_;
  T* data_ = nullptr;
};

// Host → device and device → host copies on the context's stream. The device → host copy
// waits for it; the host → device copy of pageable memory returns once the data is staged.
template <typename T>
void CopyToDevice(const CudaContext& ctx, const T* host, size_t n, T* device) {
  if (n == 0) return;
  LIGHTRL_CUDA_CHECK(
      cudaMemcpyAsync(device, host, n * sizeof(T), cudaMemcpyHostToDevice, ctx.stream()));
}
template <typename T>
void CopyToHost(const CudaContext& ctx, const T* device, size_t n, T* host) {
  if (n == 0) return;
  LIGHTRL_CUDA_CHECK(
      cudaMemcpyAsync(host, device, n * sizeof(T), cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.Synchronize();
}
template <typename T>
void CopyOnDevice(const CudaContext& ctx, const T* from, size_t n, T* to) {
  if (n == 0) return;
  LIGHTRL_CUDA_CHECK(
      cudaMemcpyAsync(to, from, n * sizeof(T), cudaMemcpyDeviceToDevice, ctx.stream()));
}

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_DEVICE_H_
