// The learner's side of the weight path: every version the training thread captures becomes a
// served image that the loop announces.
//
//   Create, on the actor's loop: binds a WeightServer there (weights/chunked_transfer.h),
//   serves the policy's current weights as the starting version, and starts the publishing
//   thread.
//   Capture(version), on the thread that drives the policy, between steps: copies the weights
//   into a snapshot (weights/snapshots.h: on the policy's GPU for a GPU policy), and for a GPU
//   policy in a build with NCCL into the NCCL source's copy too; it does not wait for the
//   version to be published.
//   The publishing thread turns the newest captured version into a host image with its
//   checksum, in reused buffers, and hands it to the loop (run_on_loop, which may wait for
//   room), which serves it and calls on_published(version). Versions captured while the
//   previous image was being made are skipped (newest wins; counted in
//   lightrl_learner_versions_skipped_total); the newest is always published.
//   NCCL: a GPU policy in a build with NCCL also serves each version GPU to GPU to pullers on
//   the same host that ask (weights/nccl_weights.h); the answers go out on the loop.
//
// Destruction, on the loop once its actor runs no more closures (the actor's teardown), after
// the last Capture: stops the publishing thread, the NCCL source and the server.
// Metrics: lightrl_learner_versions_skipped_total, lightrl_learner_publish_seconds, and the
// server's.
// Errors: Create returns the server's (binding), the snapshots' (memory) and the NCCL
// source's.
// Thread-safety: as described per call.
#ifndef LIGHTRL_WEIGHTS_PUBLISHER_H_
#define LIGHTRL_WEIGHTS_PUBLISHER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "model/policy.h"
#include "weights/chunked_transfer.h"
#include "weights/image.h"
#include "weights/snapshots.h"

namespace lightrl {

class NcclWeightSource;

struct WeightPublisherConfig {
  WeightServerConfig server;
  size_t staging_bytes = WeightSnapshots::kDefaultStagingBytes;  // GPU policy: per buffer
  std::chrono::milliseconds nccl_timeout{20000};                 // Per NCCL pull, joining included.
};

class WeightPublisher {
 public:
  // Queues a closure on the loop from another thread, waiting while its mailbox is full
  // (e.g. WorkerNodeCore::RunOnActor); after the actor stopped it drops the closure.
  using RunOnLoop = std::function<void(std::function<void()>)>;

  // `loop`, `policy` and `metrics` must outlive the publisher; `version` is the policy's.
  static StatusOr<std::unique_ptr<WeightPublisher>> Create(
      zmq::context_t& context, EventLoop* loop, RunOnLoop run_on_loop, model::Policy* policy,
      uint64_t version, const WeightPublisherConfig& config, MetricsRegistry* metrics,
      std::function<void(uint64_t version)> on_published);
  ~WeightPublisher();

  void Capture(uint64_t version);

  // Loop: the announce of the newest version served.
  Status FillAnnounce(proto::WeightsAnnounce::Builder announce) const;
  uint64_t latest_version() const { return server_->latest_version(); }
  // Any thread: the server's advertised endpoint.
  const std::string& endpoint() const { return server_->endpoint(); }

 private:
  WeightPublisher(RunOnLoop run_on_loop, std::function<void(uint64_t)> on_published,
                  MetricsRegistry* metrics);
  void PublishLoop(uint64_t published);
  // Loop: serves `image` and reports it.
  void Serve(WeightsImage image);

  RunOnLoop run_on_loop_;
  std::function<void(uint64_t)> on_published_;
  std::unique_ptr<WeightServer> server_;  // Loop only.
  std::unique_ptr<WeightSnapshots> snapshots_;
  std::unique_ptr<ImageBuffers> buffers_;
  std::vector<TensorLayout> layout_;
  std::shared_ptr<NcclWeightSource> nccl_;  // GPU policy in a build with NCCL; else null.
  Counter* skipped_;
  Gauge* publish_seconds_;
  std::thread thread_;
};

}  // namespace lightrl

#endif  // LIGHTRL_WEIGHTS_PUBLISHER_H_
