// Internal to model/: what a CudaModel holds (model.cc and decode.cc share it).
#ifndef LIGHTRL_MODEL_CUDA_MODEL_STATE_H_
#define LIGHTRL_MODEL_CUDA_MODEL_STATE_H_

#include <memory>
#include <vector>

#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/norm.h"
#include "model/cuda/layers.h"
#include "model/cuda/model.h"

namespace lightrl::model::internal {

// What one decoder layer keeps between forward and backward (layer_activations.h's twin).
struct CudaLayerActivations {
  DeviceFloats x_in, inv_in, a, x_mid, inv_post, b, mixer_out, ffn_out;
  DeviceBf16s a16, b16;  // bf16 trunk: the branches' inputs, rounded once
  CudaLightningLayer::Activations lightning;
  CudaSoftmaxLayer::Activations softmax;
  CudaMoeLayer::Activations moe;
};

// A packed batch on the device: tokens, positions and the kernels' plans.
struct DeviceBatch {
  std::vector<int32_t> seq_offsets, host_tokens;  // host copies
  DeviceInts tokens, positions;
  std::unique_ptr<kernels::cuda::LightningPlan> lightning;
  std::unique_ptr<kernels::cuda::AttentionPlan> attention;

  BatchLayout Layout() const { return {lightning.get(), attention.get(), positions.data()}; }
};

// The LM head's rows of a forward and what its backward needs.
struct DeviceHead {
  std::vector<int32_t> targets;  // host: token index j of each head row
  DeviceInts rows, target_ids;   // row j−1 of the trunk, token id of j
  DeviceFloats head_in, inv_final, hidden, logprob, entropy, lse;
};

struct CudaModelState {
  ModelConfig config;
  CudaModelOptions options;
  std::unique_ptr<CudaContext> ctx;
  ParamArena<float> host;
  DeviceFloats params, grads;
  kernels::cuda::DeviceBuffer<kernels::cuda::bf16> params16;
  std::vector<CudaLightningLayer> lightning;
  std::vector<CudaSoftmaxLayer> softmax;
  std::vector<CudaMoeLayer> moe;
  std::vector<int> mixer_index;
  std::vector<size_t> norm_in, norm_post;
  size_t embed = 0, final_norm = 0, lm_head = 0;

  // The kept forward (consumed by Backward) and scratch for forward-only calls.
  bool kept_valid = false;
  double kept_temperature = 1;
  DeviceBatch kept_batch, temp_batch;
  DeviceHead kept_head, temp_head;
  std::vector<CudaLayerActivations> kept_layers;
  CudaLayerActivations scratch_layer;
  DeviceFloats aux_dprob;  // [E]: coef × ∂aux/∂p
  kernels::cuda::DeviceBuffer<double> stats;
  DeviceWorkspace ws;

  // Decoding.
  int slots = 0, capacity = 0;
  std::vector<int> lengths;
  std::vector<DeviceFloats> lightning_states;  // per lightning layer: [slots, heads·d²]
  std::vector<DeviceFloats> keys, values;      // per softmax layer: [slots, capacity, kv]
  DeviceFloats logits;
  DeviceInts step_ints;  // a decoding step's tokens, slots, positions, lengths and row ids

  CudaModelState(const ModelConfig& c, const CudaModelOptions& o)
      : config(c), options(o), host(ParamLayout::ForConfig(c)) {}

  DeviceWeights Weights();
  kernels::cuda::LmHeadOptions HeadOptions(double temperature) const;
  // (α, β) of the attention branch's residual for `layer`'s attention type.
  std::pair<float, float> AttentionFactors(int layer) const;
  // Uploads a batch's tokens, positions and plans.
  void Prepare(const PackedBatch& batch, const BatchRows& rows, DeviceBatch* out);
  // Runs decoder layer l in place on x; mixer(a, act, y) computes the attention branch
  // (a: an Operand).
  template <typename Mixer>
  void DecoderLayer(int l, int rows, bool keep, CudaLayerActivations* act, float* x,
                    DeviceRouterStats* stats, Mixer&& mixer);
  // h [rows, hidden] ← final RMSNorm of x (inv_rms nullable).
  void FinalNorm(const float* x, int rows, float* h, float* inv_rms);
};

template <typename Mixer>
void CudaModelState::DecoderLayer(int l, int rows, bool keep, CudaLayerActivations* act, float* x,
                                  DeviceRouterStats* stats, Mixer&& mixer) {
  namespace kc = kernels::cuda;
  const int h = config.hidden_size;
  const size_t n = static_cast<size_t>(rows) * h;
  const float eps = static_cast<float>(config.rms_norm_eps);
  const DeviceWeights w = Weights();
  const auto [alpha, beta] = AttentionFactors(l);
  if (keep) kc::CopyOnDevice(*ctx, x, n, Sized(&act->x_in, n));
  float* a = Sized(&act->a, n);
  float* mixer_out = Sized(&act->mixer_out, n);
  kc::RmsNormForward(*ctx, x, w.params + norm_in[l], rows, h, eps, a, Sized(&act->inv_in, rows));
  mixer(w.Rounded(a, n, &act->a16), act, mixer_out);
  kc::Blend(*ctx, a, alpha, mixer_out, beta, n, x);
  if (keep) kc::CopyOnDevice(*ctx, x, n, Sized(&act->x_mid, n));
  float* b = Sized(&act->b, n);
  float* ffn_out = Sized(&act->ffn_out, n);
  kc::RmsNormForward(*ctx, x, w.params + norm_post[l], rows, h, eps, b,
                     Sized(&act->inv_post, rows));
  moe[l].Forward(w, w.Rounded(b, n, &act->b16), rows, &act->moe, ffn_out, stats);
  kc::Blend(*ctx, b, static_cast<float>(config.mlp_alpha_factor), ffn_out,
            static_cast<float>(config.mlp_beta_factor), n, x);
}

}  // namespace lightrl::model::internal

#endif  // LIGHTRL_MODEL_CUDA_MODEL_STATE_H_
