#include "model/moe_layer.h"

#include <algorithm>
#include <cstring>

#include "core/logging.h"
#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "kernels/router.h"

namespace lightrl::model {
namespace {

using kernels::Transpose;

}  // namespace

template <typename T>
MoeLayer<T>::MoeLayer(const ModelConfig& config, const ParamLayout& layout, int layer)
    : hidden_(config.hidden_size),
      inter_(config.intermediate_size),
      experts_(config.num_local_experts),
      top_k_(config.num_experts_per_tok),
      offsets_(FindMoeWeights(config, layout, layer)) {}

// Counting sort of the (row, slot) pairs by expert, stable in row order.
template <typename T>
void MoeLayer<T>::Dispatch(int rows, Activations* act) const {
  const int pairs = rows * top_k_;
  act->expert_offsets.assign(experts_ + 1, 0);
  for (int p = 0; p < pairs; ++p) ++act->expert_offsets[act->experts[p] + 1];
  for (int e = 0; e < experts_; ++e) act->expert_offsets[e + 1] += act->expert_offsets[e];
  std::vector<int32_t> next(act->expert_offsets.begin(), act->expert_offsets.end() - 1);
  act->slot_position.resize(pairs);
  for (int p = 0; p < pairs; ++p) act->slot_position[p] = next[act->experts[p]]++;
}

template <typename T>
void MoeLayer<T>::Forward(const T* params, const T* b, int rows, const Projector& project,
                          Activations* act, T* z, RouterStats* stats) const {
  const int pairs = rows * top_k_;
  std::vector<T> logits(static_cast<size_t>(rows) * experts_);
  kernels::RouterLogits(b, rows, hidden_, params + offsets_.gate, experts_, logits.data());
  act->probs.resize(logits.size());
  act->weights.resize(pairs);
  act->experts.resize(pairs);
  kernels::RouterForward(logits.data(), rows, experts_, top_k_, act->probs.data(),
                         act->experts.data(), act->weights.data());
  if (stats != nullptr) {
    kernels::RouterAccumulateStats(act->probs.data(), act->experts.data(), rows, experts_, top_k_,
                                   stats->routed.data(), stats->prob_sum.data());
    stats->rows += rows;
  }
  Dispatch(rows, act);
  act->gathered.resize(static_cast<size_t>(pairs) * hidden_);
  act->gate_up.resize(static_cast<size_t>(pairs) * 2 * inter_);
  act->inner.resize(static_cast<size_t>(pairs) * inter_);
  act->expert_out.resize(static_cast<size_t>(pairs) * hidden_);
  kernels::ParallelForIndex(pairs, hidden_, [&](int64_t p) {
    std::memcpy(act->gathered.data() + static_cast<size_t>(act->slot_position[p]) * hidden_,
                b + static_cast<size_t>(p / top_k_) * hidden_, sizeof(T) * hidden_);
  });
  for (int e = 0; e < experts_; ++e) {
    const int begin = act->expert_offsets[e], count = act->expert_offsets[e + 1] - begin;
    if (count == 0) continue;
    T* gate_up = act->gate_up.data() + static_cast<size_t>(begin) * 2 * inter_;
    T* inner = act->inner.data() + static_cast<size_t>(begin) * inter_;
    project(act->gathered.data() + static_cast<size_t>(begin) * hidden_, count, hidden_,
            params + offsets_.w13[e], 2 * inter_, gate_up);
    kernels::SwiGluForward(gate_up, count, inter_, inner);
    project(inner, count, inter_, params + offsets_.w2[e], hidden_,
            act->expert_out.data() + static_cast<size_t>(begin) * hidden_);
  }
  kernels::ParallelForIndex(rows, hidden_, [&](int64_t r) {
    T* out = z + static_cast<size_t>(r) * hidden_;
    std::fill(out, out + hidden_, T(0));
    for (int e = 0; e < experts_; ++e) {
      for (int s = 0; s < top_k_; ++s) {
        const int p = r * top_k_ + s;
        if (act->experts[p] != e) continue;
        const T w = act->weights[p];
        const T* y = act->expert_out.data() + static_cast<size_t>(act->slot_position[p]) * hidden_;
        for (int c = 0; c < hidden_; ++c) out[c] += y[c] * w;
      }
    }
  });
}

template <typename T>
void MoeLayer<T>::Backward(const T* params, const T* b, int rows, const kernels::GemmOptions& gemm,
                           Activations* act, const T* dz, const double* aux_dprob, T* grads, T* db,
                           Workspace<T>* ws) const {
  const int pairs = rows * top_k_;
  std::vector<T> d_weights(pairs);
  T* d_out = ws->Get(Slot::kLayerA, static_cast<size_t>(pairs) * hidden_);
  kernels::ParallelForIndex(pairs, hidden_, [&](int64_t p) {
    const T* g = dz + static_cast<size_t>(p / top_k_) * hidden_;
    const T* y = act->expert_out.data() + static_cast<size_t>(act->slot_position[p]) * hidden_;
    T* dy = d_out + static_cast<size_t>(act->slot_position[p]) * hidden_;
    const T w = act->weights[p];
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int c = 0; c < hidden_; ++c) {
      dot += g[c] * y[c];
      dy[c] = g[c] * w;
    }
    d_weights[p] = dot;
  });
  T* d_inner = ws->Get(Slot::kLayerB, static_cast<size_t>(pairs) * inter_);
  T* d_gate_up = ws->Get(Slot::kLayerC, static_cast<size_t>(pairs) * 2 * inter_);
  T* d_gathered = ws->Get(Slot::kLayerD, static_cast<size_t>(pairs) * hidden_);
  for (int e = 0; e < experts_; ++e) {
    const int begin = act->expert_offsets[e], count = act->expert_offsets[e + 1] - begin;
    if (count == 0) continue;
    const T* dy = d_out + static_cast<size_t>(begin) * hidden_;
    T* di = d_inner + static_cast<size_t>(begin) * inter_;
    T* dgu = d_gate_up + static_cast<size_t>(begin) * 2 * inter_;
    kernels::Gemm<T>(Transpose::kNo, Transpose::kNo, count, inter_, hidden_, T(1), dy, hidden_,
                     params + offsets_.w2[e], inter_, T(0), di, inter_, gemm);
    kernels::Gemm<T>(Transpose::kYes, Transpose::kNo, hidden_, inter_, count, T(1), dy, hidden_,
                     act->inner.data() + static_cast<size_t>(begin) * inter_, inter_, T(1),
                     grads + offsets_.w2[e], inter_, gemm);
    kernels::SwiGluBackward(act->gate_up.data() + static_cast<size_t>(begin) * 2 * inter_, di,
                            count, inter_, dgu);
    kernels::Gemm<T>(Transpose::kYes, Transpose::kNo, 2 * inter_, hidden_, count, T(1), dgu,
                     2 * inter_, act->gathered.data() + static_cast<size_t>(begin) * hidden_,
                     hidden_, T(1), grads + offsets_.w13[e], hidden_, gemm);
    kernels::Gemm<T>(Transpose::kNo, Transpose::kNo, count, hidden_, 2 * inter_, T(1), dgu,
                     2 * inter_, params + offsets_.w13[e], hidden_, T(0),
                     d_gathered + static_cast<size_t>(begin) * hidden_, hidden_, gemm);
  }
  kernels::ParallelForIndex(rows, hidden_, [&](int64_t r) {
    T* out = db + static_cast<size_t>(r) * hidden_;
    for (int s = 0; s < top_k_; ++s) {
      const T* g = d_gathered + static_cast<size_t>(act->slot_position[r * top_k_ + s]) * hidden_;
      for (int c = 0; c < hidden_; ++c) out[c] += g[c];
    }
  });
  std::vector<T> d_probs, d_logits(static_cast<size_t>(rows) * experts_);
  if (aux_dprob != nullptr) {
    d_probs.resize(d_logits.size());
    for (size_t i = 0; i < d_probs.size(); ++i)
      d_probs[i] = static_cast<T>(aux_dprob[i % experts_]);
  }
  kernels::RouterBackward(act->probs.data(), act->experts.data(), act->weights.data(),
                          d_weights.data(), aux_dprob != nullptr ? d_probs.data() : nullptr, rows,
                          experts_, top_k_, d_logits.data());
  kernels::Gemm<T>(Transpose::kYes, Transpose::kNo, experts_, hidden_, rows, T(1), d_logits.data(),
                   experts_, b, hidden_, T(1), grads + offsets_.gate, hidden_, gemm);
  kernels::Gemm<T>(Transpose::kNo, Transpose::kNo, rows, hidden_, experts_, T(1), d_logits.data(),
                   experts_, params + offsets_.gate, hidden_, T(1), db, hidden_, gemm);
}

template class MoeLayer<float>;
template class MoeLayer<double>;

}  // namespace lightrl::model
