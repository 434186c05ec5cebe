// A rollout actor process: a messaging actor (coordinator link, weight fetcher) and a
// generation thread (the model and its batched Generator), joined by a hand-off queue.
//
//   work      the node grants one credit per free group slot, only while it holds weights;
//             each RolloutRequest becomes `samplesPerPrompt` generation requests (seed + i)
//             in the continuous batch; when all of a group's samples finish, the node answers
//             the request with a Rollout: per sample the tokens, the log-prob of each under the
//             sampling distribution, and the policy version that produced each token.
//   weights   on a WeightsAnnounce newer than what it holds, the actor pulls the version in
//             chunks (checksums verified) and hands it to the generation thread, which
//             switches either at a request boundary (no sequence in flight: new groups wait)
//             or mid-generation (between two decoding steps; in-flight sequences continue with
//             the new weights and their later tokens carry the new version).
//   NCCL      with weight_transport nccl (model.backend cuda), the actor asks the learner to
//             send each new version GPU to GPU (weights/nccl_weights.h) into a staging buffer
//             while decoding goes on; the generation thread then copies it in. The actor
//             keeps one communicator with the learner for all its pulls. A pull that fails
//             (learner not on a GPU, timeout, NCCL error) is repeated in chunks and the next
//             one joins a fresh communicator; the next NCCL pull starts once the staged
//             version is in use.
//   late join a node without weights takes no work; the coordinator sends the current announce
//             right after registration, and the node grants credits once it has pulled it.
//   errors    a request the generator refuses (bad prompt ids, too long, bad sampling params)
//             is answered Error(failed) with the reason; the node keeps serving.
//
// Metrics: lightrl_rollout_generated_tokens_total, _active_sequences, _queued_groups,
// _policy_version, _version_lag, _nccl_pull_failures_total, _nccl_links_joined_total,
// lightrl_weight_fetch_seconds (pull time).
// Thread-safety: Start/Stop from one thread; everything else runs on the node's threads.
#ifndef LIGHTRL_ROLLOUT_ROLLOUT_NODE_H_
#define LIGHTRL_ROLLOUT_ROLLOUT_NODE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/actor.h"
#include "actors/cluster_config.h"
#include "actors/handoff_queue.h"
#include "actors/worker_session.h"
#include "model/generator.h"
#include "model/policy.h"
#include "weights/chunked_transfer.h"

namespace lightrl {

class NcclWeightSink;

enum class WeightSwitch { kRequestBoundary, kMidGeneration };
// How new versions arrive: chunks over ZeroMQ, or GPU to GPU over NCCL from a learner on the
// same host (the chunked pull is the fallback when an NCCL pull fails).
enum class WeightTransport { kZmq, kNccl };

struct RolloutNodeConfig {
  std::string worker_id;
  ClusterConfig cluster;
  uint16_t metrics_port = 0;  // Reported at registration, for `lightrl status`.
  std::string model_config;   // Path of the architecture's config.json.
  // Backend and precision (model: section). With `devices` (rollout.devices), rollout
  // worker i (id "rollout-<i>", as the launcher names them) uses GPU devices[i % size].
  model::PolicyOptions policy;
  std::vector<int64_t> devices;
  int max_batch = 64;        // Sequences decoded together.
  int groups_in_flight = 4;  // Groups held at once (credits granted).
  WeightSwitch weight_switch = WeightSwitch::kMidGeneration;
  WeightTransport weight_transport = WeightTransport::kZmq;
  std::chrono::milliseconds nccl_timeout{20000};  // per NCCL pull, joining included
};

// Reads the `rollout:` section and the `model:` one. Errors name file, key and reason.
Status ParseRolloutNodeConfig(const ConfigNode& rollout, const ConfigNode& model,
                              RolloutNodeConfig* out);

class RolloutNode {
 public:
  // Builds the policy (no weights yet) and its generator, and connects. Errors: the
  // policy's (e.g. FailedPrecondition for a GPU backend without a GPU). `metrics` must
  // outlive the node.
  static StatusOr<std::unique_ptr<RolloutNode>> Start(zmq::context_t& context,
                                                      const RolloutNodeConfig& config,
                                                      MetricsRegistry* metrics);
  ~RolloutNode();

  // Called (on the actor thread) when the coordinator sends Shutdown.
  void OnShutdown(std::function<void()> callback);
  // Abandons unfinished groups (the coordinator re-queues them) and stops. Idempotent.
  void Stop();

  uint64_t policy_version() const { return version_.load(); }

 private:
  struct GroupJob;
  struct PendingWeights;
  struct NcclPull;
  RolloutNode(const RolloutNodeConfig& config, MetricsRegistry* metrics,
              std::unique_ptr<model::Policy> policy);
  Status SetUpActor(zmq::context_t& context, EventLoop& loop);
  void OnRolloutRequest(const IncomingMessage& message);
  void OnWeightsAnnounce(proto::WeightsAnnounce::Reader announce);
  void GrantFreeSlots();
  void GenerationLoop();
  void WakeGenerationThread();
  // Generation thread: applies pending weights if allowed now; true when it switched.
  bool MaybeSwitchWeights(bool idle);
  // Generation thread: the generator now uses `version`; true.
  bool SwitchedTo(uint64_t version);
  // Actor thread: the chunked pull of `announce`, and what to do with its result.
  void FetchInChunks(proto::WeightsAnnounce::Reader announce);
  void HandOver(std::unique_ptr<PendingWeights> weights);
  // Actor thread: NCCL pulls (one at a time, while the staging buffer is free).
  void StartNcclPull(std::unique_ptr<capnp::MallocMessageBuilder> announce);
  void FinishNcclPullIfDone();
  void OnStagingFree();

  RolloutNodeConfig config_;
  MetricsRegistry* metrics_;
  // Generation thread only, once it runs.
  std::unique_ptr<model::Policy> policy_;
  std::unique_ptr<model::Generator> generator_;
  HandoffQueue<std::unique_ptr<GroupJob>> jobs_;
  std::unique_ptr<Actor> actor_;
  std::unique_ptr<WorkerSession> session_;  // Actor thread only.
  std::unique_ptr<WeightFetcher> fetcher_;  // Actor thread only.
  std::thread generation_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> version_{0};            // Weights the generator uses (0: none).
  std::atomic<uint64_t> announced_version_{0};  // Newest the learner announced.
  std::atomic<int> held_groups_{0};             // Granted and not yet answered.
  uint32_t credits_outstanding_ = 0;            // Actor thread only.
  std::mutex weights_mu_;
  std::condition_variable weights_cv_;
  // weight_transport nccl: the staging side, the pull in progress and the newest announce
  // waiting for it (actor thread), and the receive's thread.
  std::shared_ptr<NcclWeightSink> nccl_sink_;
  std::vector<model::ByteLayoutEntry> byte_layout_;
  std::unique_ptr<NcclPull> nccl_pull_;
  std::unique_ptr<capnp::MallocMessageBuilder> nccl_next_;
  bool staging_busy_ = false;
  std::atomic<bool> nccl_cancel_{false};  // Set by the actor, read by the receive.
  std::thread nccl_thread_;
  std::unique_ptr<PendingWeights> pending_weights_;  // Guarded by weights_mu_.
  std::function<void()> on_shutdown_;
  bool stopped_ = false;
};

}  // namespace lightrl

#endif  // LIGHTRL_ROLLOUT_ROLLOUT_NODE_H_
