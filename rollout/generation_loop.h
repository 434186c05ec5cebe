// The rollout's generation thread: continuous batching of prompt groups on the policy's
// Generator, the policy version of every token, and switches to newly pulled weights.
//
//   groups   popped from `jobs` (the worker node's queue); each becomes `samples` generation
//            requests (sampling seed + i for sample i) in the continuous batch, once the
//            weights in use are at least its min_version. When all of a group's samples have
//            finished, `done` gets them: per sample the tokens, the log-prob of each under the
//            sampling distribution, and the policy version that produced each token. A group
//            the generator refuses (bad prompt ids, too long, bad sampling params) gets the
//            reason instead; its samples already queued finish and are discarded.
//   weights  before each decoding step, the version the WeightPuller pulled last is applied
//            when the mode allows: kMidGeneration at once (in-flight sequences continue with
//            it, and their later tokens carry its version), kRequestBoundary only with no
//            sequence in flight (new groups wait meanwhile). The first version is applied at
//            once in either mode, and then on_first_weights runs.
//   idle     with nothing to decode it sleeps until Wake (a group queued, weights pulled) or
//            Stop, after which Run returns, abandoning unfinished groups.
//
// Metrics: lightrl_rollout_generated_tokens_total, lightrl_rollout_active_sequences,
// lightrl_rollout_queued_groups.
// Thread-safety: Run on the thread that drives the policy; Wake and Stop from any thread.
#ifndef LIGHTRL_ROLLOUT_GENERATION_LOOP_H_
#define LIGHTRL_ROLLOUT_GENERATION_LOOP_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "actors/worker_node.h"
#include "core/activity_log.h"
#include "core/sample.h"
#include "model/generator.h"
#include "rollout/rollout_config.h"
#include "weights/puller.h"

namespace lightrl {

// One prompt group to generate.
struct GroupJob {
  uint64_t group_id = 0;
  std::vector<TokenId> prompt;
  int samples = 0;
  model::SamplingParams params;
  uint64_t min_version = 0;
};

class GenerationLoop {
 public:
  // On the generation thread, once per group: its samples, or why it was refused.
  using Done =
      std::function<void(uint64_t request, uint64_t group_id, StatusOr<std::vector<Sample>> samples,
                         std::chrono::milliseconds took)>;

  // Every pointer must outlive the loop.
  GenerationLoop(model::Generator* generator, WeightPuller* weights, WeightSwitch mode,
                 HandoffQueue<Work<GroupJob>>* jobs, Done done,
                 std::function<void()> on_first_weights, MetricsRegistry* metrics);

  // Generates until Stop; records busy time in `activity`.
  void Run(ActivityLog& activity);
  void Wake();
  void Stop();

 private:
  struct Group;
  // Applies pulled weights if the mode allows now.
  void MaybeSwitchWeights(bool idle);

  model::Generator* generator_;
  WeightPuller* weights_;
  const WeightSwitch mode_;
  HandoffQueue<Work<GroupJob>>* jobs_;
  Done done_;
  std::function<void()> on_first_weights_;
  Counter* generated_;
  Gauge* active_;
  Gauge* queued_;
  std::mutex mu_;  // Orders Wake after the idle thread's check of its wake-up condition.
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
};

}  // namespace lightrl

#endif  // LIGHTRL_ROLLOUT_GENERATION_LOOP_H_
