#include "model/layer_weights.h"

#include <string>

#include "core/logging.h"

namespace lightrl::model {
namespace {

size_t Offset(const ParamLayout& layout, int layer, const std::string& module,
              const std::string& tensor) {
  return layout.Get("model.layers." + std::to_string(layer) + "." + module + "." + tensor).offset;
}

}  // namespace

LightningWeights FindLightningWeights(const ModelConfig& config, const ParamLayout& layout,
                                      int layer) {
  const size_t inner = static_cast<size_t>(config.num_attention_heads) * config.head_dim;
  LightningWeights w{Offset(layout, layer, "self_attn", "qkv_proj.weight"),
                     Offset(layout, layer, "self_attn", "norm.weight"),
                     Offset(layout, layer, "self_attn", "out_proj.weight")};
  CHECK_EQ(Offset(layout, layer, "self_attn", "output_gate.weight"),
           w.qkv_gate + 3 * inner * config.hidden_size);
  return w;
}

SoftmaxWeights FindSoftmaxWeights(const ModelConfig& config, const ParamLayout& layout, int layer) {
  const size_t inner = static_cast<size_t>(config.num_attention_heads) * config.head_dim;
  const size_t kv = static_cast<size_t>(config.num_key_value_heads) * config.head_dim;
  SoftmaxWeights w{Offset(layout, layer, "self_attn", "q_proj.weight"),
                   Offset(layout, layer, "self_attn", "o_proj.weight")};
  CHECK_EQ(Offset(layout, layer, "self_attn", "k_proj.weight"), w.qkv + inner * config.hidden_size);
  CHECK_EQ(Offset(layout, layer, "self_attn", "v_proj.weight"),
           w.qkv + (inner + kv) * config.hidden_size);
  return w;
}

MoeWeights FindMoeWeights(const ModelConfig& config, const ParamLayout& layout, int layer) {
  MoeWeights w;
  w.gate = Offset(layout, layer, "block_sparse_moe", "gate.weight");
  for (int e = 0; e < config.num_local_experts; ++e) {
    const std::string expert = "experts." + std::to_string(e) + ".";
    w.w13.push_back(Offset(layout, layer, "block_sparse_moe", expert + "w1.weight"));
    CHECK_EQ(Offset(layout, layer, "block_sparse_moe", expert + "w3.weight"),
             w.w13.back() + static_cast<size_t>(config.intermediate_size) * config.hidden_size);
    w.w2.push_back(Offset(layout, layer, "block_sparse_moe", expert + "w2.weight"));
  }
  return w;
}

}  // namespace lightrl::model
