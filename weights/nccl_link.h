// Device buffers from one GPU to another over NCCL, between two processes (or threads) of
// one host: the weight path from a GPU learner to GPU rollout actors beside it.
//
// An NcclLink is a two-rank communicator that one side names (NewNcclId, passed to the
// other out of band) and both join; it is kept for any number of transfers, so joining
// (hundreds of milliseconds) is paid once. Rank 0 sends, rank 1 receives. Every call is
// non-blocking underneath and polled: a peer that never joins, dies or stalls makes it
// return DeadlineExceeded after `timeout`, never hang; setting *cancel (from another thread)
// ends it the same way at once, with Cancelled. Any failure aborts the communicator: the
// link is then broken() and refuses further transfers (the peer's side fails too, so both
// sides join a fresh one).
//
// NVLink multicast stays off: NCCL_NVLS_ENABLE=0 is set unless already set.
// Errors: InvalidArgument for a rank other than 0 or 1; Internal for NCCL or CUDA failures
// (with NCCL's message); DeadlineExceeded and Cancelled as above; FailedPrecondition for a
// transfer over a broken link.
// Thread-safety: one thread at a time per link (it may change between calls); distinct
// links are independent.
#ifndef LIGHTRL_WEIGHTS_NCCL_LINK_H_
#define LIGHTRL_WEIGHTS_NCCL_LINK_H_

#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"

namespace lightrl {

// A new communicator id, and its raw bytes for messages (IdFromBytes: InvalidArgument for
// bytes that are not one).
StatusOr<ncclUniqueId> NewNcclId();
std::string NcclIdBytes(const ncclUniqueId& id);
StatusOr<ncclUniqueId> NcclIdFromBytes(const std::string& bytes);

class NcclLink {
 public:
  // Joins the communicator `id` as `rank` with `device`.
  static StatusOr<std::unique_ptr<NcclLink>> Join(int device, int rank, const ncclUniqueId& id,
                                                  std::chrono::milliseconds timeout,
                                                  const std::atomic<bool>* cancel = nullptr);
  // Aborts the communicator, locally: a peer waiting on it runs into its timeout.
  ~NcclLink();
  NcclLink(const NcclLink&) = delete;
  NcclLink& operator=(const NcclLink&) = delete;

  // Rank 0 sends [buffer, buffer + bytes) (device memory of this link's GPU); rank 1
  // receives as many bytes into buffer. The peer makes the matching call.
  Status Transfer(void* buffer, size_t bytes, std::chrono::milliseconds timeout,
                  const std::atomic<bool>* cancel = nullptr);
  bool broken() const { return comm_ == nullptr; }
  int rank() const { return rank_; }

 private:
  NcclLink(int device, int rank) : device_(device), rank_(rank) {}
  // Polls until the communicator and (when given) the stream are done; aborts on failure.
  Status Wait(cudaStream_t stream, std::chrono::steady_clock::time_point deadline,
              const std::atomic<bool>* cancel, const std::string& what);
  void Abort();

  int device_, rank_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace lightrl

#endif  // LIGHTRL_WEIGHTS_NCCL_LINK_H_
