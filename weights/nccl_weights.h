// Policy weights from the learner's GPU to rollout actors' GPUs on the same host, over NCCL
// (weights/nccl_link.h): the GPU path of a weight pull (weights/chunked_transfer.h), with the
// ZeroMQ chunked transfer as the fallback. What moves is the flat FP32 image of the weights,
// the layout of the policy's parameter arena (the same bytes a chunked pull would carry).
//
// Each rollout actor keeps one communicator (NcclLink) with the learner for
// all its pulls: it names it (a fresh NCCL id) on its first pull, the learner joins, and
// later pulls carry the same id with `reuse` set. A failed pull ends the link on both sides
// and the next pull names a fresh one.
//
//   NcclWeightSource (learner): Capture(version), on the thread that drives the policy
//   after it publishes a version, copies the device weights into a snapshot on the same
//   GPU (one more FP32 copy of the weights); Serve(version, id, reuse, done) queues a pull,
//   which the source's thread sends as rank 0 of link `id` (joining it first unless
//   `reuse`). done(status) runs on that thread: FailedPrecondition when the snapshot holds
//   another version or a reused link is unknown (never joined, dropped after a failure, or
//   evicted: the source keeps the `max_links` most recently used), NCCL errors,
//   DeadlineExceeded when the puller does not join or finish in time. Capture waits for a
//   send in progress.
//
//   NcclWeightSink (rollout actor): NextPull() names the link of the next pull;
//   Receive(pull, timeout), on a thread that may block, takes the image as rank 1 into a
//   staging buffer on the actor's GPU (decoding goes on with the old weights meanwhile);
//   Apply(), on the thread that drives the policy, copies it into the policy's device
//   weights and returns once the copy is done (the staging buffer may then take the next
//   version). NextPull and Receive must not overlap. The host copy of the weights
//   (params()) is not updated.
//
// Errors: Create returns FailedPrecondition for a policy that is not on a GPU and
// ResourceExhausted when the extra copy does not fit.
// Thread-safety: as described per call.
#ifndef LIGHTRL_WEIGHTS_NCCL_WEIGHTS_H_
#define LIGHTRL_WEIGHTS_NCCL_WEIGHTS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "kernels/cuda/device.h"
#include "model/policy.h"
#include "weights/nccl_link.h"

namespace lightrl {

class NcclWeightSource {
 public:
  static constexpr size_t kDefaultMaxLinks = 16;
  // InvalidArgument for max_links 0.
  static StatusOr<std::unique_ptr<NcclWeightSource>> Create(model::Policy* policy,
                                                            std::chrono::milliseconds timeout,
                                                            size_t max_links = kDefaultMaxLinks);
  // Pulls still queued get Cancelled; a send in progress finishes first.
  ~NcclWeightSource();

  void Capture(uint64_t version);
  void Serve(uint64_t version, std::string nccl_id, bool reuse, std::function<void(Status)> done);

 private:
  struct Pull {
    uint64_t version;
    std::string nccl_id;
    bool reuse;
    std::function<void(Status)> done;
  };
  struct Link {
    std::unique_ptr<NcclLink> link;
    uint64_t last_used;
  };
  NcclWeightSource(model::CudaModel* model, std::chrono::milliseconds timeout, size_t max_links);
  void Run();
  Status Send(const Pull& pull);
  // The link a pull goes over: the kept one (reuse) or a newly joined one.
  StatusOr<NcclLink*> LinkFor(const Pull& pull);

  model::CudaModel* model_;
  const std::chrono::milliseconds timeout_;
  const size_t max_links_;
  std::mutex snapshot_mu_;  // Held while the snapshot is written or sent.
  kernels::cuda::DeviceBuffer<float> snapshot_;
  uint64_t snapshot_version_ = 0;
  std::map<std::string, Link> links_;  // by NCCL id; used by the source's thread only
  uint64_t pulls_ = 0;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pull> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

class NcclWeightSink {
 public:
  static StatusOr<std::unique_ptr<NcclWeightSink>> Create(model::Policy* policy);

  struct PullId {
    std::string nccl_id;
    bool reuse;  // false: the learner must join this link (a first pull, or after a failure)
  };
  // Internal for NCCL failures to make an id.
  StatusOr<PullId> NextPull();
  // *cancel (nullable), set from another thread, ends the receive with Cancelled. Any
  // failure drops the link.
  Status Receive(const PullId& pull, std::chrono::milliseconds timeout,
                 const std::atomic<bool>* cancel = nullptr);
  void Apply();
  size_t bytes() const { return staging_.bytes(); }

 private:
  explicit NcclWeightSink(model::CudaModel* model) : model_(model) {}

  model::CudaModel* model_;
  kernels::cuda::DeviceBuffer<float> staging_;
  std::unique_ptr<NcclLink> link_;
  std::string link_id_;
};

}  // namespace lightrl

#endif  // LIGHTRL_WEIGHTS_NCCL_WEIGHTS_H_
