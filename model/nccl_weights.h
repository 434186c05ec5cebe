// Policy weights from the learner's GPU to rollout actors' GPUs on the same host, over NCCL
// (kernels/cuda/nccl_transfer.h): the GPU path of a weight pull (actors/weights.h), with the
// ZeroMQ chunked transfer as the fallback. What moves is the flat FP32 image of the weights,
// the layout of the policy's parameter arena (the same bytes a chunked pull would carry).
//
//   NcclWeightSource (learner): Capture(version), on the thread that drives the policy
//   after it publishes a version, copies the device weights into a snapshot on the same
//   GPU (one more FP32 copy of the weights); Serve(version, id, done) queues a pull, which
//   the source's thread sends as rank 0 of `id`. done(status) runs on that thread:
//   FailedPrecondition when the snapshot holds another version, NCCL errors,
//   DeadlineExceeded when the puller does not join or finish in time. Capture waits for a
//   send in progress.
//
//   NcclWeightSink (rollout actor): Receive(id, timeout), on a thread that may block, takes
//   the image as rank 1 into a staging buffer on the actor's GPU (decoding goes on with the
//   old weights meanwhile); Apply(), on the thread that drives the policy, copies it into
//   the policy's device weights and returns once the copy is done (the staging buffer may
//   then take the next version). The host copy of the weights (params()) is not updated.
//
// Errors: Create returns FailedPrecondition for a policy that is not on a GPU and
// ResourceExhausted when the extra copy does not fit.
// Thread-safety: as described per call.
#ifndef LIGHTRL_MODEL_NCCL_WEIGHTS_H_
#define LIGHTRL_MODEL_NCCL_WEIGHTS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "kernels/cuda/device.h"
#include "model/policy.h"

namespace lightrl::model {

class NcclWeightSource {
 public:
  static StatusOr<std::unique_ptr<NcclWeightSource>> Create(Policy* policy,
                                                            std::chrono::milliseconds timeout);
  // Pulls still queued get Cancelled; a send in progress finishes first.
  ~NcclWeightSource();

  void Capture(uint64_t version);
  void Serve(uint64_t version, std::string nccl_id, std::function<void(Status)> done);

 private:
  struct Pull {
    uint64_t version;
    std::string nccl_id;
    std::function<void(Status)> done;
  };
  NcclWeightSource(CudaModel* model, std::chrono::milliseconds timeout);
  void Run();
  Status Send(const Pull& pull);

  CudaModel* model_;
  const std::chrono::milliseconds timeout_;
  std::mutex snapshot_mu_;  // Held while the snapshot is written or sent.
  kernels::cuda::DeviceBuffer<float> snapshot_;
  uint64_t snapshot_version_ = 0;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pull> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

class NcclWeightSink {
 public:
  static StatusOr<std::unique_ptr<NcclWeightSink>> Create(Policy* policy);

  // *cancel (nullable), set from another thread, ends the receive with Cancelled.
  Status Receive(const std::string& nccl_id, std::chrono::milliseconds timeout,
                 const std::atomic<bool>* cancel = nullptr);
  void Apply();
  size_t bytes() const { return staging_.bytes(); }

 private:
  explicit NcclWeightSink(CudaModel* model) : model_(model) {}

  CudaModel* model_;
  kernels::cuda::DeviceBuffer<float> staging_;
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_NCCL_WEIGHTS_H_
