#include "rollout/rollout_config.h"

namespace lightrl {

Status ParseRolloutNodeConfig(const ConfigNode& rollout, const ConfigNode& model,
                              RolloutNodeConfig* out) {
  RETURN_IF_ERROR(rollout.ExpectOnlyKeys(
      {"max_batch", "groups_in_flight", "weight_switch", "devices", "weight_transport"}));
  RETURN_IF_ERROR(rollout.Optional("max_batch", &out->max_batch, 1, 4096));
  RETURN_IF_ERROR(rollout.Optional("groups_in_flight", &out->groups_in_flight, 1, 4096));
  std::string mode = "mid_generation";
  RETURN_IF_ERROR(
      rollout.OptionalChoice("weight_switch", &mode, {"mid_generation", "request_boundary"}));
  out->weight_switch =
      mode == "mid_generation" ? WeightSwitch::kMidGeneration : WeightSwitch::kRequestBoundary;
  RETURN_IF_ERROR(rollout.Optional("devices", &out->devices));
  std::string transport = "zmq";
  RETURN_IF_ERROR(rollout.OptionalChoice("weight_transport", &transport, {"zmq", "nccl"}));
  out->weight_transport = transport == "nccl" ? WeightTransport::kNccl : WeightTransport::kZmq;
  for (int64_t device : out->devices) {
    if (device < 0) return rollout.Error("devices", "device indices must be >= 0");
  }
  const std::string_view model_keys[] = {"config", "init", "seed"};
  RETURN_IF_ERROR(model::ParsePolicyOptions(model, &out->policy, model_keys));
  return model.Required("config", &out->model_config);
}

int RolloutDevice(const RolloutNodeConfig& config) {
  if (config.devices.empty()) return config.policy.device;
  const size_t dash = config.worker_id.rfind('-');
  int64_t index = 0;
  if (dash != std::string::npos) {
    const std::string suffix = config.worker_id.substr(dash + 1);
    if (!suffix.empty() && suffix.find_first_not_of("0123456789") == std::string::npos) {
      index = std::stoll(suffix);
    }
  }
  return static_cast<int>(config.devices[index % config.devices.size()]);
}

}  // namespace lightrl
