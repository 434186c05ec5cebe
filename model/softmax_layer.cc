#include "model/softmax_layer.h"

#include <cmath>
#include <numeric>

#include "core/logging.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"

namespace lightrl::model {
namespace {

using kernels::Transpose;

}  // namespace

template <typename T>
SoftmaxLayer<T>::SoftmaxLayer(const ModelConfig& config, const ParamLayout& layout, int layer)
    : hidden_(config.hidden_size),
      inner_(config.num_attention_heads * config.head_dim),
      kv_(config.num_key_value_heads * config.head_dim),
      width_(inner_ + 2 * kv_),
      shape_{config.num_attention_heads, config.num_key_value_heads, config.head_dim,
             1.0 / std::sqrt(static_cast<double>(config.head_dim))},
      q_rope_{config.num_attention_heads, config.head_dim, config.rotary_dim, config.rope_theta},
      k_rope_{config.num_key_value_heads, config.head_dim, config.rotary_dim, config.rope_theta},
      offsets_(FindSoftmaxWeights(config, layout, layer)) {}

template <typename T>
void SoftmaxLayer<T>::Project(const T* params, const T* a, int rows, const int32_t* positions,
                              const Projector& project, Activations* act) const {
  act->proj.resize(static_cast<size_t>(rows) * width_);
  act->out.resize(static_cast<size_t>(rows) * inner_);
  act->lse.resize(static_cast<size_t>(rows) * shape_.heads);
  project(a, rows, hidden_, params + offsets_.qkv, width_, act->proj.data());
  kernels::RopeForward(act->proj.data(), rows, width_, q_rope_, positions);
  kernels::RopeForward(act->proj.data() + inner_, rows, width_, k_rope_, positions);
}

template <typename T>
void SoftmaxLayer<T>::Forward(const T* params, const T* a, int rows, const int32_t* positions,
                              const int32_t* seq_offsets, int num_seqs, const Projector& project,
                              Activations* act, T* y) const {
  Project(params, a, rows, positions, project, act);
  const T* p = act->proj.data();
  kernels::AttentionForward(p, width_, p + inner_, width_, p + inner_ + kv_, width_, seq_offsets,
                            num_seqs, shape_, act->out.data(), act->lse.data());
  project(act->out.data(), rows, inner_, params + offsets_.o, hidden_, y);
}

template <typename T>
void SoftmaxLayer<T>::Backward(const T* params, const T* a, int rows, const int32_t* positions,
                               const int32_t* seq_offsets, int num_seqs,
                               const kernels::GemmOptions& gemm, Activations* act, const T* dy,
                               T* grads, T* da, Workspace<T>* ws) const {
  T* d_out = ws->Get(Slot::kLayerA, static_cast<size_t>(rows) * inner_);
  T* dp = ws->Get(Slot::kLayerB, static_cast<size_t>(rows) * width_);
  kernels::Gemm<T>(Transpose::kNo, Transpose::kNo, rows, inner_, hidden_, T(1), dy, hidden_,
                   params + offsets_.o, inner_, T(0), d_out, inner_, gemm);
  kernels::Gemm<T>(Transpose::kYes, Transpose::kNo, hidden_, inner_, rows, T(1), dy, hidden_,
                   act->out.data(), inner_, T(1), grads + offsets_.o, inner_, gemm);
  const T* p = act->proj.data();
  kernels::AttentionBackward(p, width_, p + inner_, width_, p + inner_ + kv_, width_,
                             act->out.data(), act->lse.data(), d_out, seq_offsets, num_seqs, shape_,
                             dp, dp + inner_, dp + inner_ + kv_);
  kernels::RopeBackward(dp, rows, width_, q_rope_, positions);
  kernels::RopeBackward(dp + inner_, rows, width_, k_rope_, positions);
  kernels::Gemm<T>(Transpose::kYes, Transpose::kNo, width_, hidden_, rows, T(1), dp, width_, a,
                   hidden_, T(1), grads + offsets_.qkv, hidden_, gemm);
  kernels::Gemm<T>(Transpose::kNo, Transpose::kNo, rows, hidden_, width_, T(1), dp, width_,
                   params + offsets_.qkv, hidden_, T(1), da, hidden_, gemm);
}

template <typename T>
void SoftmaxLayer<T>::Prefill(const T* params, const T* a, int rows, const int32_t* seq_offsets,
                              int num_seqs, const Projector& project, Activations* act,
                              KvCache<T>* const* caches, T* y) const {
  std::vector<int32_t> positions(rows);
  for (int s = 0; s < num_seqs; ++s) {
    std::iota(positions.begin() + seq_offsets[s], positions.begin() + seq_offsets[s + 1], 0);
  }
  Forward(params, a, rows, positions.data(), seq_offsets, num_seqs, project, act, y);
  for (int s = 0; s < num_seqs; ++s) {
    KvCache<T>& cache = *caches[s];
    cache.keys.clear();
    cache.values.clear();
    for (int r = seq_offsets[s]; r < seq_offsets[s + 1]; ++r) {
      const T* row = act->proj.data() + static_cast<size_t>(r) * width_ + inner_;
      cache.keys.insert(cache.keys.end(), row, row + kv_);
      cache.values.insert(cache.values.end(), row + kv_, row + 2 * kv_);
    }
    cache.length = seq_offsets[s + 1] - seq_offsets[s];
  }
}

template <typename T>
void SoftmaxLayer<T>::Decode(const T* params, const T* a, int rows, KvCache<T>* const* caches,
                             const Projector& project, Activations* act, T* y) const {
  std::vector<int32_t> positions(rows);
  for (int r = 0; r < rows; ++r) positions[r] = caches[r]->length;
  Project(params, a, rows, positions.data(), project, act);
  const int group = shape_.heads / shape_.kv_heads, d = shape_.head_dim;
  kernels::ParallelForEach(
      rows, static_cast<int64_t>(shape_.heads) * shape_.head_dim * caches[0]->length,
      [&](int64_t r) {
        KvCache<T>& cache = *caches[r];
        const T* row = act->proj.data() + static_cast<size_t>(r) * width_;
        cache.keys.insert(cache.keys.end(), row + inner_, row + inner_ + kv_);
        cache.values.insert(cache.values.end(), row + inner_ + kv_, row + width_);
        ++cache.length;
        std::vector<T> scores(cache.length);
        for (int h = 0; h < shape_.heads; ++h) {
          const int g = h / group;
          kernels::AttentionRow(
              row + h * d, cache.keys.data() + g * d, kv_, cache.values.data() + g * d, kv_,
              cache.length, d, static_cast<T>(shape_.scale),
              act->out.data() + static_cast<size_t>(r) * inner_ + h * d,
              act->lse.data() + static_cast<size_t>(r) * shape_.heads + h, scores.data());
        }
      });
  project(act->out.data(), rows, inner_, params + offsets_.o, hidden_, y);
}

template class SoftmaxLayer<float>;
template class SoftmaxLayer<double>;

}  // namespace lightrl::model
