#include "model/lightning_layer.h"

#include <algorithm>

#include "core/logging.h"
#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "kernels/norm.h"
#include "kernels/parallel.h"

namespace lightrl::model {
namespace {

// transformers builds the lightning RMSNorm with its default eps, not rms_norm_eps.
constexpr double kLightningNormEps = 1e-6;

using kernels::Transpose;

}  // namespace

template <typename T>
LightningLayer<T>::LightningLayer(const ModelConfig& config, const ParamLayout& layout, int layer)
    : hidden_(config.hidden_size),
      heads_(config.num_attention_heads),
      dim_(config.head_dim),
      inner_(config.num_attention_heads * config.head_dim),
      block_(config.block_size),
      offsets_(FindLightningWeights(config, layout, layer)) {
  for (int h = 0; h < heads_; ++h) {
    slopes_.push_back(kernels::LightningSlope<T>(h, heads_, layer, config.num_hidden_layers));
    decay_.push_back(kernels::LightningDecayTable(slopes_.back(), block_));
  }
}

template <typename T>
void LightningLayer<T>::Project(const T* params, const T* a, int rows, const Projector& project,
                                Activations* act) const {
  act->proj.resize(static_cast<size_t>(rows) * 4 * inner_);
  act->act.resize(static_cast<size_t>(rows) * 3 * inner_);
  act->core.resize(static_cast<size_t>(rows) * inner_);
  project(a, rows, hidden_, params + offsets_.qkv_gate, 4 * inner_, act->proj.data());
  kernels::SiluForward(act->proj.data(), 4 * inner_, rows, 3 * inner_, act->act.data(), 3 * inner_);
}

template <typename T>
void LightningLayer<T>::Finish(const T* params, int rows, const Projector& project,
                               Activations* act, T* y) const {
  act->inv_rms.resize(rows);
  act->normed.resize(static_cast<size_t>(rows) * inner_);
  act->gated.resize(static_cast<size_t>(rows) * inner_);
  kernels::RmsNormForward(act->core.data(), params + offsets_.norm, rows, inner_,
                          static_cast<T>(kLightningNormEps), act->normed.data(),
                          act->inv_rms.data());
  kernels::SigmoidGateForward(act->proj.data() + 3 * inner_, 4 * inner_, act->normed.data(), rows,
                              inner_, act->gated.data());
  project(act->gated.data(), rows, inner_, params + offsets_.out, hidden_, y);
}

template <typename T>
void LightningLayer<T>::Forward(const T* params, const T* a, int rows, const int32_t* seq_offsets,
                                int num_seqs, const Projector& project, Activations* act,
                                T* y) const {
  Project(params, a, rows, project, act);
  kernels::LightningForward(act->act.data(), 3 * inner_, seq_offsets, num_seqs,
                            {heads_, dim_, block_}, slopes_.data(), act->core.data());
  Finish(params, rows, project, act, y);
}

template <typename T>
void LightningLayer<T>::Backward(const T* params, const T* a, int rows, const int32_t* seq_offsets,
                                 int num_seqs, const kernels::GemmOptions& gemm, Activations* act,
                                 const T* dy, T* grads, T* da, Workspace<T>* ws) const {
  const int wide = 4 * inner_;
  const size_t narrow = static_cast<size_t>(rows) * inner_;
  T* d_gated = ws->Get(Slot::kLayerA, narrow);
  T* d_core = ws->Get(Slot::kLayerB, narrow);
  T* d_proj = ws->Get(Slot::kLayerC, static_cast<size_t>(rows) * wide);
  T* d_act = ws->Get(Slot::kLayerD, static_cast<size_t>(rows) * 3 * inner_);
  kernels::Gemm<T>(Transpose::kNo, Transpose::kNo, rows, inner_, hidden_, T(1), dy, hidden_,
                   params + offsets_.out, inner_, T(0), d_gated, inner_, gemm);
  kernels::Gemm<T>(Transpose::kYes, Transpose::kNo, hidden_, inner_, rows, T(1), dy, hidden_,
                   act->gated.data(), inner_, T(1), grads + offsets_.out, inner_, gemm);
  kernels::SigmoidGateBackward(act->proj.data() + 3 * inner_, wide, act->normed.data(), d_gated,
                               rows, inner_, d_proj + 3 * inner_, wide, d_gated);
  kernels::RmsNormBackward(act->core.data(), params + offsets_.norm, act->inv_rms.data(), d_gated,
                           rows, inner_, d_core, grads + offsets_.norm);
  kernels::LightningBackward(act->act.data(), 3 * inner_, d_core, seq_offsets, num_seqs,
                             {heads_, dim_, block_}, slopes_.data(), d_act);
  kernels::SiluBackward(act->proj.data(), wide, d_act, 3 * inner_, rows, 3 * inner_, d_proj, wide);
  kernels::Gemm<T>(Transpose::kYes, Transpose::kNo, wide, hidden_, rows, T(1), d_proj, wide, a,
                   hidden_, T(1), grads + offsets_.qkv_gate, hidden_, gemm);
  kernels::Gemm<T>(Transpose::kNo, Transpose::kNo, rows, hidden_, wide, T(1), d_proj, wide,
                   params + offsets_.qkv_gate, hidden_, T(1), da, hidden_, gemm);
}

template <typename T>
void LightningLayer<T>::Prefill(const T* params, const T* a, int rows, const int32_t* seq_offsets,
                                int num_seqs, const Projector& project, Activations* act,
                                LightningCache<T>* const* caches, T* y) const {
  Project(params, a, rows, project, act);
  const size_t state_size = static_cast<size_t>(dim_) * dim_;
  for (int s = 0; s < num_seqs; ++s) caches[s]->state.assign(state_size * heads_, T(0));
  kernels::ParallelForEach(static_cast<int64_t>(num_seqs) * heads_,
                           int64_t{rows} * dim_ * dim_ / num_seqs, [&](int64_t task) {
                             const int s = static_cast<int>(task / heads_),
                                       h = static_cast<int>(task % heads_);
                             const size_t begin = static_cast<size_t>(seq_offsets[s]);
                             const T* q = act->act.data() + begin * 3 * inner_ + 3 * h * dim_;
                             const kernels::LightningHeadView<T> view{
                                 q, q + dim_, q + 2 * dim_, 3 * inner_, 3 * inner_, 3 * inner_};
                             kernels::LightningSequenceForward(
                                 view, seq_offsets[s + 1] - seq_offsets[s], dim_, decay_[h].data(),
                                 block_, act->core.data() + begin * inner_ + h * dim_, inner_,
                                 caches[s]->state.data() + h * state_size);
                           });
  for (int s = 0; s < num_seqs; ++s) {
    LightningCache<T>& cache = *caches[s];
    const int length = seq_offsets[s + 1] - seq_offsets[s];
    cache.rows_in_block = length % block_;
    cache.keys.clear();
    cache.values.clear();
    for (int r = seq_offsets[s + 1] - cache.rows_in_block; r < seq_offsets[s + 1]; ++r) {
      for (int h = 0; h < heads_; ++h) {
        const T* q = act->act.data() + static_cast<size_t>(r) * 3 * inner_ + 3 * h * dim_;
        cache.keys.insert(cache.keys.end(), q + dim_, q + 2 * dim_);
        cache.values.insert(cache.values.end(), q + 2 * dim_, q + 3 * dim_);
      }
    }
  }
  Finish(params, rows, project, act, y);
}

template <typename T>
void LightningLayer<T>::Decode(const T* params, const T* a, int rows,
                               LightningCache<T>* const* caches, const Projector& project,
                               Activations* act, T* y) const {
  Project(params, a, rows, project, act);
  const size_t state_size = static_cast<size_t>(dim_) * dim_;
  kernels::ParallelForEach(rows, heads_ * dim_ * (dim_ + block_), [&](int64_t r) {
    LightningCache<T>& cache = *caches[r];
    const int i = cache.rows_in_block;
    const T* row = act->act.data() + static_cast<size_t>(r) * 3 * inner_;
    for (int h = 0; h < heads_; ++h) {
      const T* q = row + 3 * h * dim_;
      cache.keys.insert(cache.keys.end(), q + dim_, q + 2 * dim_);
      cache.values.insert(cache.values.end(), q + 2 * dim_, q + 3 * dim_);
    }
    for (int h = 0; h < heads_; ++h) {
      kernels::LightningBlockRow(row + 3 * h * dim_, cache.keys.data() + h * dim_, inner_,
                                 cache.values.data() + h * dim_, inner_, i,
                                 cache.state.data() + h * state_size, decay_[h].data(), dim_,
                                 act->core.data() + static_cast<size_t>(r) * inner_ + h * dim_);
    }
    if (i + 1 < block_) {
      cache.rows_in_block = i + 1;
      return;
    }
    for (int h = 0; h < heads_; ++h) {
      kernels::LightningFoldBlock(cache.keys.data() + h * dim_, inner_,
                                  cache.values.data() + h * dim_, inner_, block_, decay_[h].data(),
                                  dim_, cache.state.data() + h * state_size);
    }
    cache.keys.clear();
    cache.values.clear();
    cache.rows_in_block = 0;
  });
  Finish(params, rows, project, act, y);
}

template class LightningLayer<float>;
template class LightningLayer<double>;

}  // namespace lightrl::model
