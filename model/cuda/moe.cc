// The MoE branch on the GPU (CudaMoeLayer of layers.h); moe_layer.cc is the CPU twin.
#include <string>

#include "core/logging.h"
#include "kernels/cuda/activation.h"
#include "kernels/cuda/router.h"
#include "model/cuda/layers.h"

namespace lightrl::model::internal {
namespace {

namespace kc = kernels::cuda;
using kernels::Transpose;

// The experts' inputs of a forward: their bf16 rows in the bf16 trunk (the FP32 rows are not
// gathered there), else their FP32 rows.
Operand Gathered(const DeviceWeights& w, const CudaMoeLayer::Activations& act) {
  if (w.precision == kc::GemmPrecision::kBf16) return {nullptr, act.gathered16.data()};
  return {act.gathered.data()};
}

}  // namespace

CudaMoeLayer::CudaMoeLayer(const ModelConfig& config, const ParamLayout& layout, int layer)
    : hidden_(config.hidden_size),
      inter_(config.intermediate_size),
      experts_(config.num_local_experts),
      top_k_(config.num_experts_per_tok),
      offsets_(FindMoeWeights(config, layout, layer)) {}

void CudaMoeLayer::Forward(const DeviceWeights& w, const Operand& b, int rows, Activations* act,
                           float* z, DeviceRouterStats* stats) const {
  const CudaContext& ctx = *w.ctx;
  const int pairs = rows * top_k_;
  kc::Scratch<float> logits(ctx, static_cast<size_t>(rows) * experts_);
  // The router stays FP32 in every precision mode (as on the CPU).
  kc::Gemm(ctx, kc::GemmPrecision::kFp32, Transpose::kNo, Transpose::kYes, rows, experts_, hidden_,
           1.0f, {b.f32, hidden_, nullptr}, {w.params + offsets_.gate, hidden_, nullptr}, 0.0f,
           logits.data(), experts_);
  float* probs = Sized(&act->probs, static_cast<size_t>(rows) * experts_);
  float* weights = Sized(&act->weights, pairs);
  int32_t* experts = Sized(&act->experts, pairs);
  kc::RouterForward(ctx, logits.data(), rows, experts_, top_k_, probs, experts, weights);
  if (stats != nullptr) {
    kc::RouterAccumulateStats(ctx, probs, experts, rows, experts_, top_k_, stats->values,
                              stats->values + experts_);
    stats->rows += rows;
  }
  int32_t* position = Sized(&act->slot_position, pairs);
  int32_t* offsets = Sized(&act->expert_offsets, experts_ + 1);
  kc::DispatchByExpert(ctx, experts, pairs, experts_, position, offsets);
  act->host_offsets.resize(experts_ + 1);
  kc::CopyToHost(ctx, offsets, experts_ + 1, act->host_offsets.data());  // waits
  const size_t gathered_n = static_cast<size_t>(pairs) * hidden_;
  float* gate_up = Sized(&act->gate_up, static_cast<size_t>(pairs) * 2 * inter_);
  float* inner = Sized(&act->inner, static_cast<size_t>(pairs) * inter_);
  float* expert_out = Sized(&act->expert_out, gathered_n);
  if (w.precision == kc::GemmPrecision::kBf16) {  // only the experts' bf16 inputs are needed
    CHECK(b.bf16 != nullptr);
    act->gathered16.MustResize(gathered_n);
    kc::GatherForExperts(ctx, b.bf16, rows, top_k_, hidden_, position, act->gathered16.data());
  } else {
    kc::GatherForExperts(ctx, b.f32, rows, top_k_, hidden_, position,
                         Sized(&act->gathered, gathered_n));
  }
  const Operand gathered_op = Gathered(w, *act);
  for (int e = 0; e < experts_; ++e) {
    const int begin = act->host_offsets[e], count = act->host_offsets[e + 1] - begin;
    if (count == 0) continue;
    float* gu = gate_up + static_cast<size_t>(begin) * 2 * inter_;
    w.Project(gathered_op.From(static_cast<size_t>(begin) * hidden_), count, hidden_,
              offsets_.w13[e], 2 * inter_, gu);
    kc::SwiGluForward(ctx, gu, count, inter_, inner + static_cast<size_t>(begin) * inter_);
  }
  const Operand inner_op = w.Rounded(inner, static_cast<size_t>(pairs) * inter_, &act->inner16);
  for (int e = 0; e < experts_; ++e) {
    const int begin = act->host_offsets[e], count = act->host_offsets[e + 1] - begin;
    if (count == 0) continue;
    w.Project(inner_op.From(static_cast<size_t>(begin) * inter_), count, inter_, offsets_.w2[e],
              hidden_, expert_out + static_cast<size_t>(begin) * hidden_);
  }
  kc::CombineExperts(ctx, expert_out, position, experts, weights, rows, top_k_, hidden_, z);
}

void CudaMoeLayer::Backward(const DeviceWeights& w, const Operand& b, int rows, Activations* act,
                            const float* dz, const float* aux_dprob, float* db,
                            DeviceWorkspace* ws) const {
  const CudaContext& ctx = *w.ctx;
  const int pairs = rows * top_k_;
  kc::Scratch<float> d_weights(ctx, pairs);
  const size_t out_n = static_cast<size_t>(pairs) * hidden_;
  const size_t gate_up_n = static_cast<size_t>(pairs) * 2 * inter_;
  float* d_out = ws->Get(Slot::kLayerA, out_n);
  const int32_t* position = act->slot_position.data();
  kc::CombineExpertsBackward(ctx, dz, act->expert_out.data(), position, act->weights.data(), rows,
                             top_k_, hidden_, d_out, d_weights.data());
  float* d_inner = ws->Get(Slot::kLayerB, static_cast<size_t>(pairs) * inter_);
  float* d_gate_up = ws->Get(Slot::kLayerC, gate_up_n);
  float* d_gathered = ws->Get(Slot::kLayerD, out_n);
  const Operand d_out_op = w.Rounded(d_out, out_n, ws->Bf16(Slot::kLayerA));
  const Operand inner{act->inner.data(), w.Kept(act->inner16)};
  const Operand gathered = Gathered(w, *act);
  for (int e = 0; e < experts_; ++e) {
    const int begin = act->host_offsets[e], count = act->host_offsets[e + 1] - begin;
    if (count == 0) continue;
    const Operand dy = d_out_op.From(static_cast<size_t>(begin) * hidden_);
    float* di = d_inner + static_cast<size_t>(begin) * inter_;
    w.ProjectInputGrad(dy, count, hidden_, offsets_.w2[e], inter_, di, 0.0f);
    w.ProjectWeightGrad(dy, count, hidden_, inner.From(static_cast<size_t>(begin) * inter_), inter_,
                        offsets_.w2[e]);
    kc::SwiGluBackward(ctx, act->gate_up.data() + static_cast<size_t>(begin) * 2 * inter_, di,
                       count, inter_, d_gate_up + static_cast<size_t>(begin) * 2 * inter_);
  }
  const Operand d_gate_up_op = w.Rounded(d_gate_up, gate_up_n, ws->Bf16(Slot::kLayerC));
  for (int e = 0; e < experts_; ++e) {
    const int begin = act->host_offsets[e], count = act->host_offsets[e + 1] - begin;
    if (count == 0) continue;
    const Operand dgu = d_gate_up_op.From(static_cast<size_t>(begin) * 2 * inter_);
    w.ProjectWeightGrad(dgu, count, 2 * inter_, gathered.From(static_cast<size_t>(begin) * hidden_),
                        hidden_, offsets_.w13[e]);
    w.ProjectInputGrad(dgu, count, 2 * inter_, offsets_.w13[e], hidden_,
                       d_gathered + static_cast<size_t>(begin) * hidden_, 0.0f);
  }
  kc::GatherForExpertsBackward(ctx, d_gathered, position, rows, top_k_, hidden_, db);
  kc::Scratch<float> d_logits(ctx, static_cast<size_t>(rows) * experts_);
  kc::RouterBackward(ctx, act->probs.data(), act->experts.data(), act->weights.data(),
                     d_weights.data(), aux_dprob, rows, experts_, top_k_, d_logits.data());
  w.ProjectWeightGrad({d_logits.data()}, rows, experts_, b, hidden_, offsets_.gate);
  w.ProjectInputGrad({d_logits.data()}, rows, experts_, offsets_.gate, hidden_, db, 1.0f);
}

}  // namespace lightrl::model::internal
