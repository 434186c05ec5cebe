// One device buffer from one GPU to another over NCCL, between two processes (or threads)
// of one host: the weight path from a GPU learner to GPU rollout actors beside it.
//
// Each transfer builds a fresh two-rank communicator from an id that one side makes
// (NewNcclId) and passes to the other out of band; rank 0 sends `bytes` from its buffer,
// rank 1 receives them into its own, then the communicator is destroyed. The communicator
// is non-blocking and polled: a peer that never joins, dies or stalls makes the call return
// DeadlineExceeded after `timeout` (the communicator is aborted), never hang; setting
// *cancel (from another thread) ends it the same way at once, with Cancelled.
//
// NVLink multicast stays off: NCCL_NVLS_ENABLE=0 is set unless already set.
// Errors: InvalidArgument for a rank other than 0 or 1; Internal for NCCL or CUDA failures
// (with NCCL's message); DeadlineExceeded and Cancelled as above.
// Thread-safety: reentrant; concurrent transfers use distinct ids.
#ifndef LIGHTRL_KERNELS_CUDA_NCCL_TRANSFER_H_
#define LIGHTRL_KERNELS_CUDA_NCCL_TRANSFER_H_

#include <nccl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

#include "core/status.h"

namespace lightrl::kernels::cuda {

// A new communicator id, and its raw bytes for messages (IdFromBytes: InvalidArgument for
// bytes that are not one).
StatusOr<ncclUniqueId> NewNcclId();
std::string NcclIdBytes(const ncclUniqueId& id);
StatusOr<ncclUniqueId> NcclIdFromBytes(const std::string& bytes);

// Rank 0 sends bytes [buffer, buffer + bytes) on `device`; rank 1 receives into buffer.
Status NcclTransfer(int device, int rank, void* buffer, size_t bytes, const ncclUniqueId& id,
                    std::chrono::milliseconds timeout, const std::atomic<bool>* cancel = nullptr);

}  // namespace lightrl::kernels::cuda

#endif  // LIGHTRL_KERNELS_CUDA_NCCL_TRANSFER_H_
