// The policy-gradient loss family of the learner: CISPO (default), GRPO
// (PPO-clip), DAPO, REINFORCE, and CISPO with MiniMax-M1's unified token mask — one
// implementation, selected by config.
//
// The model computes log π_θ per token; everything here works on those numbers and returns
// dL/dlog π_θ per token (the model's Backward turns that into parameter gradients), so every
// algorithm is "a per-token coefficient times ∇log π_θ":
//
//   ratio        r   = exp(logp − anchor)                  (anchor: π_old, per token)
//   CISPO        c   = −sg(clip(r, 1−ε_low, 1+ε_high)) · Â · M · tis
//   PPO/GRPO/    c   = −r · Â · tis   where min(rÂ, clip(r,1−ε_low,1+ε_high)Â) takes the
//   DAPO                               unclipped branch, else 0 (the clipped branch is constant)
//   REINFORCE    c   = −Â · tis
//   KL (opt.)    c  += β · (1 − exp(ref − logp))           (k3 estimator of KL(π_θ‖π_ref))
// then each coefficient is divided by the normalizer: the number of loss tokens of the batch
// (token-level) or, per token, the sequence's token count times the number of sequences
// (per-sequence mean). M is the unified mask (1 unless enabled); tis = min(π_old/π_behaviour,
// cap) is the optional truncated importance-sampling correction of the train/generation gap.
//
// Thread-safety: pure functions.
#ifndef LIGHTRL_LEARNER_POLICY_LOSS_H_
#define LIGHTRL_LEARNER_POLICY_LOSS_H_

#include <span>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace lightrl {

enum class PolicyAlgorithm { kCispo, kGrpo, kDapo, kReinforce };
enum class LossNormalization { kToken, kSequence };

struct PolicyLossConfig {
  PolicyAlgorithm algorithm = PolicyAlgorithm::kCispo;
  LossNormalization normalization = LossNormalization::kToken;
  // IS-weight clip (CISPO) or trust region (PPO-style). Defaults follow the algorithm when
  // not set in the config: CISPO [0, 5] (ε_low = 1 turns the lower bound off; ScaleRL's
  // clip(r, 0, 5)), GRPO 0.2/0.2, DAPO 0.2/0.28.
  double eps_low = 1.0;
  double eps_high = 4.0;
  // MiniMax-M1 Eq. 7 mask thresholds (CISPO only); off by default.
  bool unified_mask = false;
  double mask_eps_low = 0.2;
  double mask_eps_high = 0.28;
  // Truncated IS correction min(π_old/π_behaviour, cap); 0 turns it off.
  double tis_cap = 0;
  // KL(π_θ‖π_ref) penalty coefficient; 0 turns it off (and no reference model is kept).
  double kl_coef = 0;
};

// Reads the `loss:` section. Errors name file, key and reason.
Status ParsePolicyLossConfig(const ConfigNode& node, PolicyLossConfig* out);

// One sequence (completion) of the batch: its loss tokens are [begin, end) of the per-token
// arrays and all share `advantage`.
struct LossSequence {
  int begin = 0;
  int end = 0;
  double advantage = 0;
};

struct PolicyLossInputs {
  std::span<const float> logprobs;            // log π_θ, current weights
  std::span<const float> anchor_logprobs;     // log π_old
  std::span<const float> behaviour_logprobs;  // log π of the sampler (for tis); may be empty
  std::span<const float> ref_logprobs;        // log π_ref (for KL); may be empty
  std::vector<LossSequence> sequences;
};

struct PolicyLossResult {
  std::vector<float> dlogprob;  // one per token of the inputs; 0 outside every sequence
  double loss = 0;              // the surrogate value (for logging)
  int tokens = 0;               // loss tokens
  double clip_fraction = 0;     // tokens whose ratio was clipped (weight clamped / gradient cut)
  double masked_fraction = 0;   // tokens the unified mask removed
  double is_weight_mean = 0;    // mean of the clipped IS weight (CISPO) or ratio (others)
  double tis_weight_mean = 0;   // mean truncated-IS correction (1 when off)
  double kl_mean = 0;           // mean k3 KL estimate (0 when off)
};

// Errors: InvalidArgument when the spans disagree in length, a sequence lies outside them, or
// a needed input (behaviour for tis, reference for KL) is missing.
StatusOr<PolicyLossResult> ComputePolicyLoss(const PolicyLossConfig& config,
                                             const PolicyLossInputs& inputs);

// Group-normalized advantages Â_i = (R_i − mean) / (std + 1e-6) with the sample standard
// deviation (n − 1). A group whose rewards are all equal has no signal: returns false and
// leaves *advantages zero. `scale_by_std` false gives Â_i = R_i − mean (Dr. GRPO).
bool GroupAdvantages(std::span<const double> rewards, bool scale_by_std,
                     std::vector<double>* advantages);

// DAPO's overlong penalty: 0 up to max_length − cache, then falling linearly to −1 at
// max_length (and −1 beyond).
double OverlongPenalty(int length, int max_length, int cache);

}  // namespace lightrl

#endif  // LIGHTRL_LEARNER_POLICY_LOSS_H_
