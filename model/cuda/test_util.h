// Helpers of the GPU model tests (cuda_*_test.cc only): skipping without a GPU, weights that
// give activations of order one, and comparisons against the CPU model.
#ifndef LIGHTRL_MODEL_CUDA_TEST_UTIL_H_
#define LIGHTRL_MODEL_CUDA_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "kernels/cuda/test_util.h"
#include "model/config.h"
#include "model/param_arena.h"

namespace lightrl::model::testing {

// Every matrix ~ N(0, scale²/fan_in) (fan_in = the last dim; the LM head gets head_scale
// instead of 1), every norm weight 1 + U(−0.2, 0.2): the fixtures' scheme, which keeps
// activations of order one through the layers.
inline void FanInInit(ParamArena<float>* params, uint64_t seed, double head_scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(-0.2, 0.2);
  for (const TensorInfo& t : params->layout().tensors()) {
    float* values = params->data() + t.offset;
    if (t.shape.size() == 1) {
      for (size_t i = 0; i < t.numel; ++i) values[i] = static_cast<float>(1 + uniform(rng));
      continue;
    }
    const double scale = (t.name == "lm_head.weight" ? head_scale : 1.0) /
                         std::sqrt(static_cast<double>(t.shape.back()));
    for (size_t i = 0; i < t.numel; ++i) values[i] = static_cast<float>(normal(rng) * scale);
  }
}

// A hybrid MoE config small enough for the CPU reference: lightning, softmax (GQA, partial
// RoPE), lightning, lightning; blocks of 16 rows; non-default residual factors.
inline ModelConfig SmallHybridConfig() {
  ModelConfig c;
  c.vocab_size = 300;
  c.hidden_size = 64;
  c.intermediate_size = 48;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.layer_types = {AttentionType::kLightning, AttentionType::kSoftmax, AttentionType::kLightning,
                   AttentionType::kLightning};
  c.block_size = 16;
  c.rope_theta = 1e4;
  c.rotary_dim = 8;
  c.max_position_embeddings = 512;
  c.num_local_experts = 4;
  c.num_experts_per_tok = 2;
  c.router_aux_loss_coef = 0.01;
  c.linear_attn_alpha_factor = 1.3;
  c.linear_attn_beta_factor = 0.8;
  c.full_attn_alpha_factor = 0.9;
  c.full_attn_beta_factor = 1.1;
  c.mlp_alpha_factor = 1.2;
  c.mlp_beta_factor = 0.9;
  return c;
}

// The source tree: $LIGHTRL_SOURCE_DIR when set (a GPU machine running prebuilt binaries),
// else the tree the binary was built from.
inline std::string SourceDir() {
  const char* env = std::getenv("LIGHTRL_SOURCE_DIR");
  return env != nullptr ? env : LIGHTRL_TEST_SOURCE_DIR;
}

inline double MaxAbsDiff(std::span<const float> a, std::span<const float> b) {
  return kernels::cuda::testing::MaxAbsDiff(a, b);
}

struct Agreement {
  int tokens = 0;
  double pearson = 0, mean_abs = 0, max_abs = 0, max_abs_logprob = 0;
};

// Pearson correlation of the probabilities and |Δ| statistics of two log-prob lists.
inline Agreement Compare(const std::vector<float>& a_logprob, const std::vector<float>& b_logprob) {
  Agreement out;
  const size_t n = a_logprob.size();
  out.tokens = static_cast<int>(n);
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) {
    ma += std::exp(double(a_logprob[i]));
    mb += std::exp(double(b_logprob[i]));
  }
  ma /= n;
  mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    const double pa = std::exp(double(a_logprob[i])), pb = std::exp(double(b_logprob[i]));
    sab += (pa - ma) * (pb - mb);
    saa += (pa - ma) * (pa - ma);
    sbb += (pb - mb) * (pb - mb);
    out.mean_abs += std::abs(pa - pb) / n;
    out.max_abs = std::max(out.max_abs, std::abs(pa - pb));
    out.max_abs_logprob =
        std::max(out.max_abs_logprob, std::abs(double(a_logprob[i]) - b_logprob[i]));
  }
  out.pearson = sab / std::sqrt(saa * sbb);
  return out;
}

}  // namespace lightrl::model::testing

#endif  // LIGHTRL_MODEL_CUDA_TEST_UTIL_H_
