// The rollout actor's settings: the `rollout:` section of the run config, and the `model:` one.
#ifndef LIGHTRL_ROLLOUT_ROLLOUT_CONFIG_H_
#define LIGHTRL_ROLLOUT_ROLLOUT_CONFIG_H_

#include <chrono>
#include <string>
#include <vector>

#include "actors/cluster_config.h"
#include "core/config.h"
#include "model/policy.h"

namespace lightrl {

// When the generation thread switches to newly pulled weights: with no sequence in flight
// (new groups wait), or between two decoding steps (in-flight sequences continue with them).
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

// The GPU of this worker: devices[i % size] for a worker id ending in "-<i>" (index 0
// otherwise), or policy.device without devices.
int RolloutDevice(const RolloutNodeConfig& config);

}  // namespace lightrl

#endif  // LIGHTRL_ROLLOUT_ROLLOUT_CONFIG_H_
