// The rollout side of the weight path: pulls each announced version newer than the one it
// holds, and hands the newest pulled one to the thread that drives the policy, which applies
// it at the moment it allows.
//
//   OnAnnounce(announce), on the actor's loop: a version newer than the one in use and the
//   one waiting is pulled in chunks (weights/chunked_transfer.h: checksums verified, a bad
//   chunk requested again, a newer pull superseding an older one), or with transport NCCL GPU
//   to GPU into a staging buffer on the policy's GPU (weights/nccl_weights.h) while decoding
//   goes on. NCCL pulls run one at a time while the staging buffer is free (it is busy from
//   the pull until the version is applied); the newest announce that arrives meanwhile is
//   pulled next. An NCCL pull that fails (no learner GPU, timeout, NCCL error) is repeated in
//   chunks, and the next one joins a fresh communicator.
//   on_pull_done(version, outcome) runs on the loop when a pull ends: Ok once the version
//   waits to be applied (the newest pulled wins), else why it failed (Cancelled when a newer
//   pull superseded it).
//   Apply(), on the thread that drives the policy: applies the waiting version, if any (the
//   bytes into the policy's parameters, or the staged copy on its GPU).
//
// Destruction, on the loop once its actor runs no more closures (the actor's teardown), after
// the last Apply: ends an NCCL receive in progress.
// Metrics: lightrl_rollout_policy_version, lightrl_rollout_version_lag,
// lightrl_rollout_weight_rejects_total, lightrl_rollout_nccl_pull_failures_total,
// lightrl_rollout_nccl_links_joined_total, and the fetcher's (lightrl_weight_fetch_seconds,
// lightrl_weight_bad_chunks_total).
// Thread-safety: as described per call; version() and HasPending() from any thread.
#ifndef LIGHTRL_WEIGHTS_PULLER_H_
#define LIGHTRL_WEIGHTS_PULLER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "model/policy.h"
#include "weights/chunked_transfer.h"

namespace lightrl {

class NcclWeightSink;

struct WeightPullerConfig {
  WeightFetcherConfig fetcher;
  // Pull GPU to GPU from a learner on this host (a GPU policy, a build with NCCL).
  bool nccl = false;
  std::chrono::milliseconds nccl_timeout{20000};  // Per NCCL pull, joining included.
};

class WeightPuller {
 public:
  // Queues a closure on the loop from another thread, waiting while its mailbox is full
  // (e.g. WorkerNodeCore::RunOnActor); after the actor stopped it drops the closure.
  using RunOnLoop = std::function<void(std::function<void()>)>;
  using PullDone = std::function<void(uint64_t version, const Status& outcome)>;

  // `loop`, `policy` and `metrics` must outlive the puller. Errors: FailedPrecondition for
  // NCCL in a build without it or with a policy not on a GPU; the staging buffer's.
  static StatusOr<std::unique_ptr<WeightPuller>> Create(
      zmq::context_t& context, EventLoop* loop, RunOnLoop run_on_loop, model::Policy* policy,
      const WeightPullerConfig& config, MetricsRegistry* metrics, PullDone on_pull_done);
  ~WeightPuller();

  void OnAnnounce(proto::WeightsAnnounce::Reader announce);

  // The version the policy uses (0: none yet), and whether a newer one waits.
  uint64_t version() const { return version_.load(); }
  bool HasPending() const;

  // Errors: InvalidArgument when the waiting image does not fit the policy (it is dropped
  // and counted; the weights in use stay).
  Status Apply();

 private:
  // A pulled version waiting for Apply: the image's bytes, or (on_device) the version in
  // the NCCL staging buffer.
  struct Pending {
    WeightsImage image;
    bool on_device = false;
  };
  struct NcclPull;
  WeightPuller(RunOnLoop run_on_loop, model::Policy* policy, const WeightPullerConfig& config,
               MetricsRegistry* metrics, PullDone on_pull_done);
  // Loop: the newest version in use or waiting.
  uint64_t Held() const;
  void FetchInChunks(proto::WeightsAnnounce::Reader announce);
  void HandOver(std::unique_ptr<Pending> weights);
  void StartNcclPull(std::unique_ptr<capnp::MallocMessageBuilder> announce);
  void FinishNcclPullIfDone();
  void OnStagingFree();

  RunOnLoop run_on_loop_;
  model::Policy* policy_;  // Applied to on the policy's thread only.
  WeightPullerConfig config_;
  MetricsRegistry* metrics_;
  PullDone on_pull_done_;
  std::unique_ptr<WeightFetcher> fetcher_;
  uint64_t announced_ = 0;
  // NCCL (loop only, but for the flag the receive reads): the staging side, the pull in
  // progress, the newest announce waiting for it, and the receive's thread.
  std::shared_ptr<NcclWeightSink> nccl_sink_;
  std::vector<model::ByteLayoutEntry> byte_layout_;  // The policy's, to check announces.
  std::unique_ptr<NcclPull> nccl_pull_;
  std::unique_ptr<capnp::MallocMessageBuilder> nccl_next_;
  bool staging_busy_ = false;
  std::atomic<bool> nccl_cancel_{false};
  std::thread nccl_thread_;
  mutable std::mutex mu_;
  std::unique_ptr<Pending> pending_;  // Guarded by mu_.
  std::atomic<uint64_t> version_{0};
  Gauge* policy_version_;
  Gauge* version_lag_;
  Counter* rejects_;
};

}  // namespace lightrl

#endif  // LIGHTRL_WEIGHTS_PULLER_H_
