#include "weights/nccl_link.h"

#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <thread>

namespace lightrl {
namespace {

using Clock = std::chrono::steady_clock;

Status NcclError(ncclResult_t result, const std::string& what) {
  return InternalError(what + ": " + ncclGetErrorString(result));
}

Status CudaError(cudaError_t error, const std::string& what) {
  return InternalError(what + ": " + cudaGetErrorString(error));
}

}  // namespace

StatusOr<ncclUniqueId> NewNcclId() {
  ncclUniqueId id;
  const ncclResult_t result = ncclGetUniqueId(&id);
  if (result != ncclSuccess) return NcclError(result, "ncclGetUniqueId");
  return id;
}

std::string NcclIdBytes(const ncclUniqueId& id) {
  return std::string(id.internal, sizeof(id.internal));
}

StatusOr<ncclUniqueId> NcclIdFromBytes(const std::string& bytes) {
  ncclUniqueId id;
  if (bytes.size() != sizeof(id.internal)) {
    return InvalidArgumentError("NCCL id: expected " + std::to_string(sizeof(id.internal)) +
                                " bytes, got " + std::to_string(bytes.size()));
  }
  std::memcpy(id.internal, bytes.data(), sizeof(id.internal));
  return id;
}

StatusOr<std::unique_ptr<NcclLink>> NcclLink::Join(int device, int rank, const ncclUniqueId& id,
                                                   std::chrono::milliseconds timeout,
                                                   const std::atomic<bool>* cancel) {
  if (rank != 0 && rank != 1) {
    return InvalidArgumentError("NCCL link: rank must be 0 (send) or 1 (receive)");
  }
  setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0);
  const Clock::time_point deadline = Clock::now() + timeout;
  std::unique_ptr<NcclLink> link(new NcclLink(device, rank));
  cudaError_t error = cudaSetDevice(device);
  if (error != cudaSuccess) return CudaError(error, "cudaSetDevice");
  error = cudaStreamCreateWithFlags(&link->stream_, cudaStreamNonBlocking);
  if (error != cudaSuccess) return CudaError(error, "cudaStreamCreate");
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  const ncclResult_t result = ncclCommInitRankConfig(&link->comm_, 2, id, rank, &config);
  if (result != ncclSuccess && result != ncclInProgress) {
    link->Abort();
    return NcclError(result, "NCCL link: ncclCommInitRankConfig");
  }
  RETURN_IF_ERROR(link->Wait(nullptr, deadline, cancel, "NCCL link: joining"));
  return link;
}

NcclLink::~NcclLink() {
  Abort();
  if (stream_ != nullptr) {
    int current = device_;
    cudaGetDevice(&current);
    cudaSetDevice(device_);
    cudaStreamDestroy(stream_);
    cudaSetDevice(current);  // the destroying thread keeps its device
  }
}

void NcclLink::Abort() {
  if (comm_ != nullptr) ncclCommAbort(comm_);
  comm_ = nullptr;
}

Status NcclLink::Transfer(void* buffer, size_t bytes, std::chrono::milliseconds timeout,
                          const std::atomic<bool>* cancel) {
  const std::string what = rank_ == 0 ? "NCCL send" : "NCCL receive";
  if (broken()) return FailedPreconditionError(what + ": the link is broken");
  const Clock::time_point deadline = Clock::now() + timeout;
  const cudaError_t error = cudaSetDevice(device_);
  if (error != cudaSuccess) return CudaError(error, "cudaSetDevice");
  const ncclResult_t result = rank_ == 0 ? ncclSend(buffer, bytes, ncclUint8, 1, comm_, stream_)
                                         : ncclRecv(buffer, bytes, ncclUint8, 0, comm_, stream_);
  if (result != ncclSuccess && result != ncclInProgress) {
    Abort();
    return NcclError(result, what);
  }
  return Wait(stream_, deadline, cancel, what);
}

Status NcclLink::Wait(cudaStream_t stream, Clock::time_point deadline,
                      const std::atomic<bool>* cancel, const std::string& what) {
  while (true) {
    ncclResult_t state = ncclSuccess;
    const ncclResult_t polled = ncclCommGetAsyncError(comm_, &state);
    if (polled != ncclSuccess) state = polled;
    if (state != ncclSuccess && state != ncclInProgress) {
      Abort();
      return NcclError(state, what);
    }
    if (state == ncclSuccess) {
      const cudaError_t query = stream == nullptr ? cudaSuccess : cudaStreamQuery(stream);
      if (query == cudaSuccess) return Status::Ok();
      if (query != cudaErrorNotReady) {
        Abort();
        return CudaError(query, what);
      }
    }
    if (Clock::now() >= deadline) {
      Abort();
      return DeadlineExceededError(what + ": the peer did not complete in time");
    }
    if (cancel != nullptr && cancel->load()) {
      Abort();
      return CancelledError(what + ": cancelled");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

}  // namespace lightrl
