// A rollout actor process: the worker skeleton (actors/worker_node.h: coordinator link,
// credits, hand-off queue), a weight puller (weights/puller.h) on the node's actor, and the
// generation thread (rollout/generation_loop.h: the policy, its batched Generator and the
// weight switches).
//
//   work      the node grants one credit per free group slot (groups_in_flight), only while
//             it holds weights; each RolloutRequest becomes a group of `samplesPerPrompt`
//             samples for the generation thread, and the node answers it with a Rollout: per
//             sample the tokens, the log-prob of each under the sampling distribution, and
//             the policy version that produced each token.
//   weights   each WeightsAnnounce goes to the puller, which pulls a version newer than the
//             one held (in chunks, or with weight_transport nccl GPU to GPU) and hands it to
//             the generation thread, which switches at a request boundary or mid-generation
//             (weight_switch).
//   late join a node without weights takes no work; the coordinator sends the current announce
//             right after registration, and the node grants credits once it has applied it.
//   errors    a request that cannot be read (bad prompt ids, samplesPerPrompt outside
//             [1, 4096]) or that the generator refuses (too long, bad sampling params) is
//             answered Error(failed) with the reason; the node keeps serving.
//
// Metrics: the generation loop's, the puller's, and the skeleton's (lightrl_rollout_in_flight,
// ...).
// Thread-safety: Start/Stop from one thread; everything else runs on the node's threads.
#ifndef LIGHTRL_ROLLOUT_ROLLOUT_NODE_H_
#define LIGHTRL_ROLLOUT_ROLLOUT_NODE_H_

#include <functional>
#include <memory>
#include <thread>

#include "actors/worker_node.h"
#include "core/activity_log.h"
#include "model/generator.h"
#include "model/policy.h"
#include "rollout/generation_loop.h"
#include "rollout/rollout_config.h"
#include "weights/puller.h"

namespace lightrl {

class RolloutNode {
 public:
  // Builds the policy (no weights yet) and its generator, and connects. Errors: the
  // policy's (e.g. FailedPrecondition for a GPU backend without a GPU), the puller's (e.g.
  // weight_transport nccl in a build without NCCL). `metrics` must outlive the node.
  static StatusOr<std::unique_ptr<RolloutNode>> Start(zmq::context_t& context,
                                                      const RolloutNodeConfig& config,
                                                      MetricsRegistry* metrics);
  ~RolloutNode();

  // Called (on the actor thread) when the coordinator sends Shutdown.
  void OnShutdown(std::function<void()> callback);
  // Abandons unfinished groups (the coordinator re-queues them) and stops. Idempotent.
  void Stop();

  // The weights version generation uses (0: none yet).
  uint64_t policy_version() const;

 private:
  RolloutNode(const RolloutNodeConfig& config, MetricsRegistry* metrics,
              std::unique_ptr<model::Policy> policy);
  // Actor thread: the puller, the generation loop and the served request kind.
  Status SetUp(zmq::context_t& context, WorkerNode<GroupJob>& node, EventLoop& loop);
  // The request as a group; InvalidArgument for bad prompt ids or sample counts.
  static StatusOr<GroupJob> Decode(const IncomingMessage& message);
  // Generation thread: answers the request of a finished or refused group.
  void Answer(uint64_t request, uint64_t group_id, StatusOr<std::vector<Sample>> samples,
              std::chrono::milliseconds took);

  RolloutNodeConfig config_;
  MetricsRegistry* metrics_;
  // Driven by the generation thread once it runs.
  std::unique_ptr<model::Policy> policy_;
  std::unique_ptr<model::Generator> generator_;
  std::unique_ptr<WorkerNode<GroupJob>> node_;
  // Created in the actor's setup; the puller is destroyed in its teardown.
  std::unique_ptr<WeightPuller> puller_;
  std::unique_ptr<GenerationLoop> generation_;
  std::thread generation_thread_;
  bool stopped_ = false;
};

}  // namespace lightrl

#endif  // LIGHTRL_ROLLOUT_ROLLOUT_NODE_H_
