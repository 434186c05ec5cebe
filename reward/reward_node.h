// A reward worker process: the worker skeleton (actors/worker_node.h: coordinator link,
// credits, hand-off queue) and a pool of scoring threads running the Scorer (rule verifiers
// in-process, code in the sandbox).
//
// The node grants one credit per free request slot (`max_in_flight`); each RewardRequest
// (one group's completions against its task reference) is scored item by item by the pool
// and answered with a RewardResult carrying a score, a verdict and details for every item.
// Scoring never fails the request: a broken reference is `invalid_reference`, a sandbox
// failure `sandbox_error` (score 0), so the coordinator always gets a verdict per item. A
// request without 1 to 4096 items is answered Error(failed); one beyond the granted credits
// is refused with Error(overloaded).
//
// Metrics: lightrl_reward_scored_total{verdict}, lightrl_reward_seconds (per item), and the
// skeleton's (lightrl_reward_in_flight, ...).
// Thread-safety: Start/Stop from one thread; everything else runs on the node's threads.
#ifndef LIGHTRL_REWARD_REWARD_NODE_H_
#define LIGHTRL_REWARD_REWARD_NODE_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actors/worker_node.h"
#include "core/activity_log.h"
#include "reward/scorer.h"

namespace lightrl {

struct RewardNodeConfig {
  std::string worker_id;
  ClusterConfig cluster;
  uint16_t metrics_port = 0;  // Reported at registration, for `lightrl status`.
  int threads = 2;            // Scoring threads.
  int max_in_flight = 4;      // Requests held at once (credits granted).
  bool use_sandbox = true;    // Off: code references score sandbox_error (rule tasks only).
  SandboxConfig sandbox;
  ScorerConfig scorer;
};

// Reads the `reward:` section; per-task scoring options come from the task list.
// Errors name file, key and reason.
Status ParseRewardNodeConfig(const ConfigNode& reward, const std::vector<TaskConfig>& tasks,
                             RewardNodeConfig* out);

class RewardNode {
 public:
  // Creates the sandbox (logging its report of which guarantees hold here) and connects.
  // `metrics` must outlive the node.
  static StatusOr<std::unique_ptr<RewardNode>> Start(zmq::context_t& context,
                                                     const RewardNodeConfig& config,
                                                     MetricsRegistry* metrics);
  ~RewardNode();

  // Called (on the node's actor) when the coordinator sends Shutdown.
  void OnShutdown(std::function<void()> callback);
  // Scores the requests already received, answers them if the coordinator is still there,
  // and stops. Idempotent.
  void Stop();

 private:
  struct Job;
  RewardNode(const RewardNodeConfig& config, MetricsRegistry* metrics,
             std::unique_ptr<Sandbox> sandbox);
  // The request as a job; InvalidArgument without 1 to 4096 items.
  static StatusOr<Job> Decode(const IncomingMessage& message);
  // Scoring threads: score each popped request and answer it.
  void ScoreLoop();

  RewardNodeConfig config_;
  MetricsRegistry* metrics_;
  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<Scorer> scorer_;
  ActivityLog activity_;  // Scoring time, from every scoring thread.
  std::unique_ptr<WorkerNode<Job>> node_;
  std::vector<std::thread> threads_;
};

}  // namespace lightrl

#endif  // LIGHTRL_REWARD_REWARD_NODE_H_
