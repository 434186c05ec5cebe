#include "kernels/cuda/nccl_transfer.h"

#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <thread>

namespace lightrl::kernels::cuda {
namespace {

using Clock = std::chrono::steady_clock;

Status NcclError(ncclResult_t result, const std::string& what) {
  return InternalError(what + ": " + ncclGetErrorString(result));
}

// Polls the communicator (and, once the operation is enqueued, the stream) until both are
// done, an error shows, the deadline passes or *cancel is set; aborts the communicator on
// failure.
Status WaitFor(ncclComm_t comm, cudaStream_t stream, Clock::time_point deadline,
               const std::atomic<bool>* cancel, const std::string& what) {
  while (true) {
    ncclResult_t state = ncclSuccess;
    const ncclResult_t polled = ncclCommGetAsyncError(comm, &state);
    if (polled != ncclSuccess) state = polled;
    if (state != ncclSuccess && state != ncclInProgress) {
      ncclCommAbort(comm);
      return NcclError(state, what);
    }
    if (state == ncclSuccess) {
      const cudaError_t query = stream == nullptr ? cudaSuccess : cudaStreamQuery(stream);
      if (query == cudaSuccess) return Status::Ok();
      if (query != cudaErrorNotReady) {
        ncclCommAbort(comm);
        return InternalError(what + ": " + cudaGetErrorString(query));
      }
    }
    if (Clock::now() >= deadline) {
      ncclCommAbort(comm);
      return DeadlineExceededError(what + ": the peer did not complete in time");
    }
    if (cancel != nullptr && cancel->load()) {
      ncclCommAbort(comm);
      return CancelledError(what + ": cancelled");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
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

Status NcclTransfer(int device, int rank, void* buffer, size_t bytes, const ncclUniqueId& id,
                    std::chrono::milliseconds timeout, const std::atomic<bool>* cancel) {
  if (rank != 0 && rank != 1) {
    return InvalidArgumentError("NCCL transfer: rank must be 0 (send) or 1 (receive)");
  }
  setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0);
  const Clock::time_point deadline = Clock::now() + timeout;
  cudaError_t error = cudaSetDevice(device);
  if (error != cudaSuccess)
    return InternalError(std::string("cudaSetDevice: ") + cudaGetErrorString(error));
  cudaStream_t stream = nullptr;
  error = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (error != cudaSuccess) {
    return InternalError(std::string("cudaStreamCreate: ") + cudaGetErrorString(error));
  }
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  const std::string side = rank == 0 ? "NCCL send" : "NCCL receive";
  ncclResult_t result = ncclCommInitRankConfig(&comm, 2, id, rank, &config);
  Status status = result == ncclSuccess || result == ncclInProgress
                      ? WaitFor(comm, nullptr, deadline, cancel, side + ": joining")
                      : NcclError(result, side + ": ncclCommInitRankConfig");
  if (status.ok()) {
    result = rank == 0 ? ncclSend(buffer, bytes, ncclUint8, 1, comm, stream)
                       : ncclRecv(buffer, bytes, ncclUint8, 0, comm, stream);
    status = result == ncclSuccess || result == ncclInProgress
                 ? WaitFor(comm, stream, deadline, cancel, side)
                 : NcclError(result, side);
    if (status.ok()) ncclCommDestroy(comm);
  }
  cudaStreamDestroy(stream);
  return status;
}

}  // namespace lightrl::kernels::cuda
