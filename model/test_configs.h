// Test helpers: tiny model configurations and batches for the model tests.
#ifndef LIGHTRL_MODEL_TEST_CONFIGS_H_
#define LIGHTRL_MODEL_TEST_CONFIGS_H_

#include <cstdint>
#include <random>
#include <vector>

#include "model/config.h"
#include "model/packed_batch.h"

namespace lightrl::model::testing {

// Both attention kinds, GQA, partial RoPE, MoE top-2 of 3, non-default residual factors,
// lightning blocks of 3 rows.
inline ModelConfig TinyHybridConfig() {
  ModelConfig c;
  c.vocab_size = 11;
  c.hidden_size = 8;
  c.intermediate_size = 6;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 4;
  c.layer_types = {AttentionType::kLightning, AttentionType::kSoftmax, AttentionType::kLightning};
  c.block_size = 3;
  c.rope_theta = 100.0;
  c.rotary_dim = 2;
  c.max_position_embeddings = 64;
  c.num_local_experts = 3;
  c.num_experts_per_tok = 2;
  c.router_aux_loss_coef = 0.1;
  c.linear_attn_alpha_factor = 1.3;
  c.linear_attn_beta_factor = 0.7;
  c.full_attn_alpha_factor = 0.9;
  c.full_attn_beta_factor = 1.2;
  c.mlp_alpha_factor = 1.1;
  c.mlp_beta_factor = 0.8;
  c.initializer_range = 0.5;
  return c;
}

// Random sequences of the given lengths; every token after the first `prompt` of a
// sequence is a target.
inline PackedBatch RandomBatch(const std::vector<int>& lengths, int prompt, int vocab,
                               uint64_t seed) {
  std::mt19937 rng(seed);
  PackedBatch batch;
  for (int len : lengths) {
    std::vector<int32_t> tokens(len);
    std::vector<uint8_t> mask(len);
    for (int i = 0; i < len; ++i) {
      tokens[i] = static_cast<int32_t>(rng() % vocab);
      mask[i] = i >= prompt;
    }
    batch.Append(tokens, mask);
  }
  return batch;
}

}  // namespace lightrl::model::testing

#endif  // LIGHTRL_MODEL_TEST_CONFIGS_H_
