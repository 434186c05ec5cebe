// The MiniMax-M1 precision signal: how closely the learner's recomputed token probabilities
// match the probabilities the rollout recorded when it sampled the same tokens.
//
// Thread-safety: pure function.
#ifndef LIGHTRL_LEARNER_PRECISION_SIGNAL_H_
#define LIGHTRL_LEARNER_PRECISION_SIGNAL_H_

#include <span>

namespace lightrl {

struct PrecisionSignal {
  int tokens = 0;
  double pearson = 0;         // Correlation of the probabilities (not log-probs); 1 when identical.
  double mean_abs_delta = 0;  // Mean |p_train − p_rollout|.
  double max_abs_delta = 0;
  double max_abs_logprob_delta = 0;
};

// Compares per-token log-probs of the same tokens under training and generation. With fewer
// than two tokens, or no variance on either side, pearson is 1 when the values agree exactly
// and 0 otherwise.
PrecisionSignal ComparePrecision(std::span<const float> train_logprobs,
                                 std::span<const float> rollout_logprobs);

}  // namespace lightrl

#endif  // LIGHTRL_LEARNER_PRECISION_SIGNAL_H_
