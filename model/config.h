// The policy model's configuration: the keys and defaults of transformers' MiniMaxConfig
// (config.json with model_type "minimax").
//
// Parsing accepts both transformers layouts: `layer_types` ("linear_attention" /
// "full_attention") or MiniMax's original `attn_type_list` (0 = linear, 1 = full), and
// `rope_parameters.rope_theta` (transformers 5) or a top-level `rope_theta`. Unknown keys
// are ignored, as transformers does. A config that lightrl cannot run exactly (tied
// embeddings, sliding window, router jitter, another activation) is an error, never a
// silent approximation. Every error names the source and the key.
#ifndef LIGHTRL_MODEL_CONFIG_H_
#define LIGHTRL_MODEL_CONFIG_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lightrl::model {

enum class AttentionType { kLightning, kSoftmax };

struct ModelConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;  // per expert
  int num_hidden_layers = 0;
  int num_attention_heads = 0;  // heads of both attention kinds
  int num_key_value_heads = 0;  // softmax layers (grouped-query attention)
  int head_dim = 0;
  std::vector<AttentionType> layer_types;
  int block_size = 256;  // lightning attention block
  double rms_norm_eps = 1e-5;
  double rope_theta = 1e6;
  int rotary_dim = 0;  // rotated dims of each softmax head (MiniMax-01: head_dim / 2)
  int max_position_embeddings = 131072;
  int num_local_experts = 8;  // 1 expert with top-1 is a dense SwiGLU FFN
  int num_experts_per_tok = 2;
  double router_aux_loss_coef = 0.001;
  double full_attn_alpha_factor = 1, full_attn_beta_factor = 1;
  double linear_attn_alpha_factor = 1, linear_attn_beta_factor = 1;
  double mlp_alpha_factor = 1, mlp_beta_factor = 1;
  double initializer_range = 0.02;
  int bos_token_id = -1;  // -1: none
  int eos_token_id = -1;
  int pad_token_id = -1;

  int NumLayers(AttentionType type) const;
};

// Parses config.json text. `source` (a file name) prefixes every error message.
StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text, std::string_view source);

// Reads and parses a config.json file.
StatusOr<ModelConfig> LoadModelConfig(const std::string& path);

// Checks the invariants the model relies on (positive sizes, heads divisible by kv heads,
// one layer type per layer, rotary_dim even and <= head_dim, top-k <= experts, ...).
Status ValidateModelConfig(const ModelConfig& config, std::string_view source);

// config.json text in transformers' format (model_type "minimax", layer_types,
// rope_parameters), readable by ParseModelConfig and by transformers.
std::string ModelConfigToJson(const ModelConfig& config);

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_CONFIG_H_
