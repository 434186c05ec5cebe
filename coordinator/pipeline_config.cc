#include "coordinator/pipeline_config.h"

namespace lightrl {

Status ParsePipelineConfig(const ConfigNode& coordinator, const ConfigNode& sampling,
                           PipelineConfig* out) {
  RETURN_IF_ERROR(coordinator.ExpectOnlyKeys(
      {"mode", "group_size", "groups_per_batch", "steps", "max_staleness", "stale_policy",
       "dynamic_sampling", "max_prompt_tokens", "ready_capacity", "max_attempts",
       "generation_timeout_ms", "reward_timeout_ms", "train_timeout_ms", "progress_every_ms",
       "seed", "metrics_jsonl", "eval"}));
  std::string mode = "async";
  RETURN_IF_ERROR(coordinator.OptionalChoice("mode", &mode, {"sync", "async"}));
  out->mode = mode == "sync" ? PipelineMode::kSync : PipelineMode::kAsync;
  RETURN_IF_ERROR(coordinator.Optional("group_size", &out->group_size, 1, 4096));
  RETURN_IF_ERROR(coordinator.Optional("groups_per_batch", &out->groups_per_batch, 1, 1 << 20));
  RETURN_IF_ERROR(coordinator.Optional("steps", &out->steps, 0, int64_t{1} << 40));
  RETURN_IF_ERROR(coordinator.Optional("max_staleness", &out->max_staleness, 0, 1 << 20));
  std::string stale = "drop";
  RETURN_IF_ERROR(coordinator.OptionalChoice("stale_policy", &stale, {"drop", "regenerate"}));
  out->stale_policy = stale == "drop" ? StalePolicy::kDrop : StalePolicy::kRegenerate;
  RETURN_IF_ERROR(coordinator.Optional("dynamic_sampling", &out->dynamic_sampling));
  RETURN_IF_ERROR(coordinator.Optional("max_prompt_tokens", &out->max_prompt_tokens, 1, 1 << 24));
  RETURN_IF_ERROR(coordinator.Optional("ready_capacity", &out->ready_capacity, 1, 1 << 20));
  if (out->ready_capacity < out->groups_per_batch) {
    return coordinator.Error("ready_capacity", "must hold at least groups_per_batch (" +
                                                   std::to_string(out->groups_per_batch) + ")");
  }
  RETURN_IF_ERROR(coordinator.Optional("max_attempts", &out->max_attempts, 1, 100));
  RETURN_IF_ERROR(
      coordinator.Optional("generation_timeout_ms", &out->generation_timeout_ms, 1, 86400000));
  RETURN_IF_ERROR(coordinator.Optional("reward_timeout_ms", &out->reward_timeout_ms, 1, 86400000));
  RETURN_IF_ERROR(coordinator.Optional("train_timeout_ms", &out->train_timeout_ms, 1, 86400000));
  RETURN_IF_ERROR(coordinator.Optional("progress_every_ms", &out->progress_every_ms, 0, 3600000));
  int64_t seed = static_cast<int64_t>(out->seed);
  RETURN_IF_ERROR(coordinator.Optional("seed", &seed, 0, INT64_MAX));
  out->seed = static_cast<uint64_t>(seed);
  RETURN_IF_ERROR(coordinator.Optional("metrics_jsonl", &out->metrics_jsonl));
  ASSIGN_OR_RETURN(ConfigNode eval, coordinator.OptionalChild("eval"));
  RETURN_IF_ERROR(eval.ExpectOnlyKeys({"every_steps", "items", "max_tokens"}));
  RETURN_IF_ERROR(eval.Optional("every_steps", &out->eval.every_steps, 0, 1 << 30));
  RETURN_IF_ERROR(eval.Optional("items", &out->eval.items, 0, 1 << 20));
  RETURN_IF_ERROR(eval.Optional("max_tokens", &out->eval.max_tokens, 1, 1 << 20));

  SamplingConfig& s = out->sampling;
  RETURN_IF_ERROR(
      sampling.ExpectOnlyKeys({"temperature", "top_p", "top_k", "max_tokens", "stop_strings",
                               "repetition_window", "repetition_probability"}));
  RETURN_IF_ERROR(sampling.Optional("temperature", &s.temperature, 1e-3, 100.0));
  RETURN_IF_ERROR(sampling.Optional("top_p", &s.top_p, 1e-6, 1.0));
  RETURN_IF_ERROR(sampling.Optional("top_k", &s.top_k, 0, 1 << 20));
  RETURN_IF_ERROR(sampling.Optional("max_tokens", &s.max_tokens, 1, 1 << 24));
  RETURN_IF_ERROR(sampling.Optional("stop_strings", &s.stop_strings));
  RETURN_IF_ERROR(sampling.Optional("repetition_window", &s.repetition_window, 0, 1 << 24));
  RETURN_IF_ERROR(sampling.Optional("repetition_probability", &s.repetition_probability, 0.0, 1.0));
  return Status::Ok();
}

}  // namespace lightrl
