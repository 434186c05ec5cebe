// Token sampling for generation: temperature, top-k, top-p, a per-request seed.
//
// The uniform number for the n-th sampled token of a request is a pure function of
// (seed, n), so a request samples the same tokens whatever else shares its batch.
// Thread-safety: pure functions.
#ifndef LIGHTRL_MODEL_SAMPLER_H_
#define LIGHTRL_MODEL_SAMPLER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/token_id.h"
#include "kernels/lm_head.h"

namespace lightrl::model {

struct SamplingParams {
  double temperature = 1.0;  // 0: greedy
  double top_p = 1.0;        // nucleus mass in (0, 1]
  int top_k = 0;             // 0: no top-k cut
  int max_tokens = 256;      // completion tokens at most
  std::vector<std::string> stop_strings;
  uint64_t seed = 0;
  // MiniMax-M1's repetition stop: finish once the last repetition_k sampled tokens each had
  // a probability above repetition_p (0 disables).
  int repetition_k = 3000;
  double repetition_p = 0.99;
};

// InvalidArgument naming the first bad field.
Status ValidateSamplingParams(const SamplingParams& params);

struct SampledToken {
  TokenId token = 0;
  // log-prob under the distribution actually sampled from (after temperature, top-k and
  // top-p; 0 for greedy).
  float logprob = 0;
  // log softmax(logits / temperature) of the token, without the top-k/top-p cut: what the
  // learner's Forward with the same temperature recomputes (bit for bit on CPU).
  float model_logprob = 0;
};

// The uniform in [0, 1) for sampled token `index` of a request with `seed`.
double SampleUniform(uint64_t seed, uint64_t index);

// Samples from one row of raw logits (scaled by 1/temperature here, exactly as the LM
// head scales them) with the uniform `u`. `head` gives the chunking of the log-sum-exp.
// `logits` is used as scratch.
SampledToken SampleToken(float* logits, int vocab, const SamplingParams& params, double u,
                         const kernels::LmHeadOptions& head);

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_SAMPLER_H_
