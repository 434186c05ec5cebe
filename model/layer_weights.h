// Where one layer's weights sit in the parameter arena, found by transformers' MiniMax names.
// The CPU layers and the CUDA layers read the same arena through these, so both agree on the
// layout by construction. Each Find* dies (CHECK) if a tensor is missing or two tensors that
// the layers read as one fused matrix are not adjacent: the layout is built by the model
// itself (ParamLayout::ForConfig), so either is a bug, not bad input.
#ifndef LIGHTRL_MODEL_LAYER_WEIGHTS_H_
#define LIGHTRL_MODEL_LAYER_WEIGHTS_H_

#include <cstddef>
#include <vector>

#include "model/config.h"
#include "model/param_arena.h"

namespace lightrl::model {

// Arena offsets (in elements) of a lightning attention layer.
struct LightningWeights {
  size_t qkv_gate;  // [q; k; v; output_gate] rows of qkv_proj followed by output_gate
  size_t norm;
  size_t out;
};
LightningWeights FindLightningWeights(const ModelConfig& config, const ParamLayout& layout,
                                      int layer);

// Arena offsets of a softmax attention layer.
struct SoftmaxWeights {
  size_t qkv;  // q_proj, k_proj and v_proj, adjacent
  size_t o;
};
SoftmaxWeights FindSoftmaxWeights(const ModelConfig& config, const ParamLayout& layout, int layer);

// Arena offsets of a mixture-of-experts block.
struct MoeWeights {
  size_t gate;
  std::vector<size_t> w13;  // per expert: w1 followed by w3 (one fused matrix)
  std::vector<size_t> w2;   // per expert
};
MoeWeights FindMoeWeights(const ModelConfig& config, const ParamLayout& layout, int layer);

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_LAYER_WEIGHTS_H_
