#include "model/cuda/layers.h"

#include <cmath>
#include <string>

#include "core/logging.h"
#include "kernels/cuda/activation.h"
#include "kernels/cuda/norm.h"

namespace lightrl::model::internal {
namespace {

namespace kc = kernels::cuda;
using kernels::Transpose;

// transformers builds the lightning RMSNorm with its default eps, not rms_norm_eps.
constexpr float kLightningNormEps = 1e-6f;

}  // namespace

Operand DeviceWeights::Rounded(const float* x, size_t n, DeviceBf16s* copy) const {
  if (precision != kc::GemmPrecision::kBf16) return {x};
  copy->MustResize(n);
  kc::ConvertToBf16(*ctx, x, 1, static_cast<int>(n), 1, copy->data(), 1);
  return {x, copy->data()};
}

const kc::bf16* DeviceWeights::Kept(const DeviceBf16s& copy) const {
  return precision == kc::GemmPrecision::kBf16 ? copy.data() : nullptr;
}

void DeviceWeights::Project(const Operand& x, int rows, int k, size_t w, int n, float* y) const {
  const kc::Matrix weight{params + w, k, params16 == nullptr ? nullptr : params16 + w};
  kc::Gemm(*ctx, precision, Transpose::kNo, Transpose::kYes, rows, n, k, 1.0f, {x.f32, k, x.bf16},
           weight, 0.0f, y, n);
}

void DeviceWeights::ProjectInputGrad(const Operand& dy, int rows, int n, size_t w, int k, float* dx,
                                     float beta) const {
  const kc::Matrix weight{params + w, k, params16 == nullptr ? nullptr : params16 + w};
  kc::Gemm(*ctx, precision, Transpose::kNo, Transpose::kNo, rows, k, n, 1.0f, {dy.f32, n, dy.bf16},
           weight, beta, dx, k);
}

void DeviceWeights::ProjectWeightGrad(const Operand& dy, int rows, int n, const Operand& x, int k,
                                      size_t w) const {
  kc::Gemm(*ctx, precision, Transpose::kYes, Transpose::kNo, n, k, rows, 1.0f, {dy.f32, n, dy.bf16},
           {x.f32, k, x.bf16}, 1.0f, grads + w, k);
}

CudaLightningLayer::CudaLightningLayer(const CudaContext& ctx, const ModelConfig& config,
                                       const ParamLayout& layout, int layer)
    : hidden_(config.hidden_size),
      heads_(config.num_attention_heads),
      dim_(config.head_dim),
      inner_(config.num_attention_heads * config.head_dim),
      block_(config.block_size),
      offsets_(FindLightningWeights(config, layout, layer)) {
  std::vector<float> slopes;
  for (int h = 0; h < heads_; ++h) {
    slopes.push_back(kernels::LightningSlope<float>(h, heads_, layer, config.num_hidden_layers));
  }
  decay_ = std::make_unique<kc::LightningDecay>(ctx, kernels::LightningShape{heads_, dim_, block_},
                                                slopes.data());
}

void CudaLightningLayer::Project(const DeviceWeights& w, const Operand& a, int rows,
                                 Activations* act) const {
  float* proj = Sized(&act->proj, static_cast<size_t>(rows) * 4 * inner_);
  float* silu = Sized(&act->act, static_cast<size_t>(rows) * 3 * inner_);
  Sized(&act->core, static_cast<size_t>(rows) * inner_);
  w.Project(a, rows, hidden_, offsets_.qkv_gate, 4 * inner_, proj);
  kc::SiluForward(*w.ctx, proj, 4 * inner_, rows, 3 * inner_, silu, 3 * inner_);
}

void CudaLightningLayer::Finish(const DeviceWeights& w, int rows, Activations* act,
                                float* y) const {
  float* inv_rms = Sized(&act->inv_rms, rows);
  float* normed = Sized(&act->normed, static_cast<size_t>(rows) * inner_);
  float* gated = Sized(&act->gated, static_cast<size_t>(rows) * inner_);
  kc::RmsNormForward(*w.ctx, act->core.data(), w.params + offsets_.norm, rows, inner_,
                     kLightningNormEps, normed, inv_rms);
  kc::SigmoidGateForward(*w.ctx, act->proj.data() + 3 * inner_, 4 * inner_, normed, rows, inner_,
                         gated);
  w.Project(w.Rounded(gated, static_cast<size_t>(rows) * inner_, &act->gated16), rows, inner_,
            offsets_.out, hidden_, y);
}

void CudaLightningLayer::Forward(const DeviceWeights& w, const Operand& a, int rows,
                                 const BatchLayout& batch, Activations* act, float* y,
                                 float* final_states, const int32_t* final_slots) const {
  Project(w, a, rows, act);
  const kernels::LightningShape shape{heads_, dim_, block_};
  float* states = Sized(&act->states, kc::LightningStateFloats(*batch.lightning, shape));
  kc::LightningForward(*w.ctx, act->act.data(), 3 * inner_, *batch.lightning, shape, *decay_,
                       act->core.data(), final_states, final_slots, states);
  Finish(w, rows, act, y);
}

void CudaLightningLayer::Backward(const DeviceWeights& w, const Operand& a, int rows,
                                  const BatchLayout& batch, Activations* act, const float* dy,
                                  float* da, DeviceWorkspace* ws) const {
  const int wide = 4 * inner_;
  const size_t narrow = static_cast<size_t>(rows) * inner_;
  float* d_gated = ws->Get(Slot::kLayerA, narrow);
  float* d_core = ws->Get(Slot::kLayerB, narrow);
  float* d_proj = ws->Get(Slot::kLayerC, static_cast<size_t>(rows) * wide);
  float* d_act = ws->Get(Slot::kLayerD, static_cast<size_t>(rows) * 3 * inner_);
  const CudaContext& ctx = *w.ctx;
  const Operand dy_op = w.Rounded(dy, static_cast<size_t>(rows) * hidden_, ws->Bf16(Slot::kLayerA));
  w.ProjectInputGrad(dy_op, rows, hidden_, offsets_.out, inner_, d_gated, 0.0f);
  w.ProjectWeightGrad(dy_op, rows, hidden_, {act->gated.data(), w.Kept(act->gated16)}, inner_,
                      offsets_.out);
  kc::SigmoidGateBackward(ctx, act->proj.data() + 3 * inner_, wide, act->normed.data(), d_gated,
                          rows, inner_, d_proj + 3 * inner_, wide, d_gated);
  kc::RmsNormBackward(ctx, act->core.data(), w.params + offsets_.norm, act->inv_rms.data(), d_gated,
                      rows, inner_, d_core, w.grads + offsets_.norm);
  kc::LightningBackward(ctx, act->act.data(), 3 * inner_, d_core, *batch.lightning,
                        {heads_, dim_, block_}, *decay_, d_act, act->states.data());
  kc::SiluBackward(ctx, act->proj.data(), wide, d_act, 3 * inner_, rows, 3 * inner_, d_proj, wide);
  const Operand d_proj_op =
      w.Rounded(d_proj, static_cast<size_t>(rows) * wide, ws->Bf16(Slot::kLayerC));
  w.ProjectWeightGrad(d_proj_op, rows, wide, a, hidden_, offsets_.qkv_gate);
  w.ProjectInputGrad(d_proj_op, rows, wide, offsets_.qkv_gate, hidden_, da, 1.0f);
}

void CudaLightningLayer::Decode(const DeviceWeights& w, const Operand& a, int rows,
                                const int32_t* slots, float* states, Activations* act,
                                float* y) const {
  Project(w, a, rows, act);
  kc::LightningDecodeStep(*w.ctx, act->act.data(), 3 * inner_, rows, slots, {heads_, dim_, block_},
                          *decay_, states, act->core.data());
  Finish(w, rows, act, y);
}

CudaSoftmaxLayer::CudaSoftmaxLayer(const CudaContext& ctx, const ModelConfig& config,
                                   const ParamLayout& layout, int layer)
    : hidden_(config.hidden_size),
      inner_(config.num_attention_heads * config.head_dim),
      kv_(config.num_key_value_heads * config.head_dim),
      width_(inner_ + 2 * kv_),
      shape_{config.num_attention_heads, config.num_key_value_heads, config.head_dim,
             1.0 / std::sqrt(static_cast<double>(config.head_dim))},
      q_rope_(std::make_unique<kc::RopeFrequencies>(
          ctx, kernels::RopeShape{config.num_attention_heads, config.head_dim, config.rotary_dim,
                                  config.rope_theta})),
      k_rope_(std::make_unique<kc::RopeFrequencies>(
          ctx, kernels::RopeShape{config.num_key_value_heads, config.head_dim, config.rotary_dim,
                                  config.rope_theta})),
      offsets_(FindSoftmaxWeights(config, layout, layer)) {}

void CudaSoftmaxLayer::Project(const DeviceWeights& w, const Operand& a, int rows,
                               const int32_t* positions, Activations* act) const {
  float* proj = Sized(&act->proj, static_cast<size_t>(rows) * width_);
  Sized(&act->out, static_cast<size_t>(rows) * inner_);
  Sized(&act->lse, static_cast<size_t>(rows) * shape_.heads);
  w.Project(a, rows, hidden_, offsets_.qkv, width_, proj);
  kc::RopeForward(*w.ctx, proj, rows, width_, *q_rope_, positions);
  kc::RopeForward(*w.ctx, proj + inner_, rows, width_, *k_rope_, positions);
}

void CudaSoftmaxLayer::Forward(const DeviceWeights& w, const Operand& a, int rows,
                               const BatchLayout& batch, Activations* act, float* y,
                               const kc::KvCacheView* cache, const int32_t* cache_slots) const {
  Project(w, a, rows, batch.positions, act);
  const float* p = act->proj.data();
  kc::AttentionForward(*w.ctx, p, width_, p + inner_, width_, p + inner_ + kv_, width_,
                       *batch.attention, shape_, act->out.data(), act->lse.data());
  if (cache != nullptr) {
    kc::KvCacheWrite(*w.ctx, p + inner_, width_, p + inner_ + kv_, width_, rows, cache_slots,
                     batch.positions, kv_, *cache);
  }
  w.Project(w.Rounded(act->out.data(), static_cast<size_t>(rows) * inner_, &act->out16), rows,
            inner_, offsets_.o, hidden_, y);
}

void CudaSoftmaxLayer::Backward(const DeviceWeights& w, const Operand& a, int rows,
                                const BatchLayout& batch, Activations* act, const float* dy,
                                float* da, DeviceWorkspace* ws) const {
  float* d_out = ws->Get(Slot::kLayerA, static_cast<size_t>(rows) * inner_);
  float* dp = ws->Get(Slot::kLayerB, static_cast<size_t>(rows) * width_);
  const CudaContext& ctx = *w.ctx;
  const Operand dy_op = w.Rounded(dy, static_cast<size_t>(rows) * hidden_, ws->Bf16(Slot::kLayerA));
  w.ProjectInputGrad(dy_op, rows, hidden_, offsets_.o, inner_, d_out, 0.0f);
  w.ProjectWeightGrad(dy_op, rows, hidden_, {act->out.data(), w.Kept(act->out16)}, inner_,
                      offsets_.o);
  const float* p = act->proj.data();
  kc::AttentionBackward(ctx, p, width_, p + inner_, width_, p + inner_ + kv_, width_,
                        act->out.data(), act->lse.data(), d_out, *batch.attention, shape_, dp,
                        dp + inner_, dp + inner_ + kv_);
  kc::RopeBackward(ctx, dp, rows, width_, *q_rope_, batch.positions);
  kc::RopeBackward(ctx, dp + inner_, rows, width_, *k_rope_, batch.positions);
  const Operand dp_op = w.Rounded(dp, static_cast<size_t>(rows) * width_, ws->Bf16(Slot::kLayerB));
  w.ProjectWeightGrad(dp_op, rows, width_, a, hidden_, offsets_.qkv);
  w.ProjectInputGrad(dp_op, rows, width_, offsets_.qkv, hidden_, da, 1.0f);
}

void CudaSoftmaxLayer::Decode(const DeviceWeights& w, const Operand& a, int rows,
                              const int32_t* slots, const int32_t* positions,
                              const int32_t* lengths, const kc::KvCacheView& cache,
                              Activations* act, float* y) const {
  Project(w, a, rows, positions, act);
  const float* p = act->proj.data();
  kc::KvCacheWrite(*w.ctx, p + inner_, width_, p + inner_ + kv_, width_, rows, slots, positions,
                   kv_, cache);
  kc::AttentionDecode(*w.ctx, p, width_, rows, slots, lengths, shape_, cache, act->out.data(),
                      act->lse.data());
  w.Project({act->out.data()}, rows, inner_, offsets_.o, hidden_, y);
}

}  // namespace lightrl::model::internal
