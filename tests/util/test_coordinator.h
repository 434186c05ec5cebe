// A stand-in coordinator for worker tests: a registry-only Coordinator and a WeightServer on
// one actor, speaking the protocol message by message (announce weights, request a rollout)
// to real workers, in this process or in others. Its weights are those of the tiny test model
// (tests/configs/tiny_model.json). Test-only.
//
// Thread-safety: every method may be called from any thread; each runs its work on the
// actor's thread.
#ifndef LIGHTRL_TESTS_UTIL_TEST_COORDINATOR_H_
#define LIGHTRL_TESTS_UTIL_TEST_COORDINATOR_H_

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "actors/actor.h"
#include "coordinator/coordinator.h"
#include "core/sample.h"
#include "model/model.h"
#include "weights/chunked_transfer.h"

namespace lightrl::testing {

class TestCoordinator {
 public:
  // Binds cluster.coordinator_endpoint (tcp://127.0.0.1:0 picks a free port). `context`
  // must outlive the coordinator. Errors: the tiny model's config, or binding.
  static StatusOr<std::unique_ptr<TestCoordinator>> Start(zmq::context_t& context,
                                                          const ClusterConfig& cluster);
  ~TestCoordinator();

  // The bound endpoint (with the chosen port).
  std::string endpoint();
  // The architecture of the weights it publishes.
  const model::ModelConfig& model_config() const { return model_config_; }
  // Runs `fn` with the coordinator on the actor's thread.
  void Call(const std::function<void(Coordinator&)>& fn);
  // Polls `condition` on the actor's thread until it holds or `timeout` passes.
  bool WaitFor(const std::function<bool(Coordinator&)>& condition,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
  // Publishes random weights (InitializeRandom(seed)) as `version`; returns the model they
  // came from.
  std::unique_ptr<model::Model> Publish(uint64_t version, uint64_t seed);
  // Sends WeightsAnnounce(version) to `worker`.
  void Announce(const std::string& worker, uint64_t version);
  // Asks `worker` for `samples` completions of `prompt` (sampling seed group × 100, the
  // repetition stop off); the future holds the samples, or none when the request failed.
  std::future<std::vector<Sample>> Generate(const std::string& worker, uint64_t group,
                                            const std::vector<TokenId>& prompt, int samples,
                                            int max_tokens);

 private:
  TestCoordinator() = default;

  model::ModelConfig model_config_;
  MetricsRegistry metrics_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<WeightServer> weights_;
  std::unique_ptr<Actor> actor_;
};

}  // namespace lightrl::testing

#endif  // LIGHTRL_TESTS_UTIL_TEST_COORDINATOR_H_
