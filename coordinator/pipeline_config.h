// Configuration of the coordinator's training pipeline: the `coordinator:` and `sampling:`
// sections of the run config.
#ifndef LIGHTRL_COORDINATOR_PIPELINE_CONFIG_H_
#define LIGHTRL_COORDINATOR_PIPELINE_CONFIG_H_

#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace lightrl {

// What every rollout request asks for (RolloutRequest.sampling).
struct SamplingConfig {
  double temperature = 1.0;
  double top_p = 1.0;
  int top_k = 0;
  int max_tokens = 64;
  std::vector<std::string> stop_strings;
  int repetition_window = 3000;
  double repetition_probability = 0.99;
};

enum class PipelineMode { kSync, kAsync };
enum class StalePolicy { kDrop, kRegenerate };

struct EvalConfig {
  int every_steps = 10;  // 0: only before the first and after the last step.
  int items = 128;       // Eval-split prompts, answered greedily.
  int max_tokens = 16;
};

struct PipelineConfig {
  PipelineMode mode = PipelineMode::kAsync;
  int group_size = 8;        // Samples per prompt (G).
  int groups_per_batch = 8;  // Groups per TrainBatch.
  int64_t steps = 100;       // Learner steps to run; then the run ends.
  // Async mode: a group whose oldest token is more than this many versions behind the learner
  // when it would be batched is stale.
  int max_staleness = 1;
  StalePolicy stale_policy = StalePolicy::kDrop;
  bool dynamic_sampling = true;  // Drop groups whose rewards are all equal; draw more prompts.
  int max_prompt_tokens = 256;   // Longer prompts are dropped as too long.
  // Rate limiter between producers and the learner: scored groups wait in a queue of this
  // many groups; while it is full, no new prompt is drawn.
  int ready_capacity = 32;
  int max_attempts = 3;  // Generation or scoring tries per group before dropping it.
  int generation_timeout_ms = 600000;
  int reward_timeout_ms = 600000;
  int train_timeout_ms = 3600000;
  int progress_every_ms = 2000;  // Period of the progress line (0: none).
  uint64_t seed = 1;             // Sampling seeds derive from it and the group id.
  std::string metrics_jsonl;     // Accounting log, one line per learner step ("" = none).
  std::string checkpoint_dir;    // The learner's; the coordinator resumes from its snapshot.
  EvalConfig eval;
  SamplingConfig sampling;
};

// Reads `coordinator` (required keys none) and `sampling`. Errors name file, key and reason.
Status ParsePipelineConfig(const ConfigNode& coordinator, const ConfigNode& sampling,
                           PipelineConfig* out);

}  // namespace lightrl

#endif  // LIGHTRL_COORDINATOR_PIPELINE_CONFIG_H_
