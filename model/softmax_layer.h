// The softmax-attention branch of a decoder layer (transformers' MiniMaxAttention):
// q, k, v = a · W_{q,k,v}ᵀ (one fused GEMM); RoPE on the first rotary_dim dims of each
// q and k head; causal grouped-query attention scaled by head_dim^−½; y = o · W_oᵀ.
//
// Thread-safety: const methods; concurrent calls need distinct activation buffers.
#ifndef LIGHTRL_MODEL_SOFTMAX_LAYER_H_
#define LIGHTRL_MODEL_SOFTMAX_LAYER_H_

#include <cstdint>
#include <vector>

#include "kernels/attention.h"
#include "kernels/rope.h"
#include "model/config.h"
#include "model/decode_cache.h"
#include "model/layer_weights.h"
#include "model/param_arena.h"
#include "model/projector.h"
#include "model/workspace.h"

namespace lightrl::model {

template <typename T>
class SoftmaxLayer {
 public:
  struct Activations {
    std::vector<T> proj;  // [rows, inner + 2·kv]: q and k after RoPE, v
    std::vector<T> out;   // [rows, inner]
    std::vector<T> lse;   // [rows, heads]
  };

  SoftmaxLayer(const ModelConfig& config, const ParamLayout& layout, int layer);

  // positions[r]: position of row r in its sequence.
  void Forward(const T* params, const T* a, int rows, const int32_t* positions,
               const int32_t* seq_offsets, int num_seqs, const Projector& project, Activations* act,
               T* y) const;

  // Adds ∂L/∂a to da and the weight gradients to grads, given dy.
  void Backward(const T* params, const T* a, int rows, const int32_t* positions,
                const int32_t* seq_offsets, int num_seqs, const kernels::GemmOptions& gemm,
                Activations* act, const T* dy, T* grads, T* da, Workspace<T>* ws) const;

  // Forward over the sequences of seq_offsets (prompts: positions from 0 in each) that stores
  // sequence s's keys/values in caches[s].
  void Prefill(const T* params, const T* a, int rows, const int32_t* seq_offsets, int num_seqs,
               const Projector& project, Activations* act, KvCache<T>* const* caches, T* y) const;

  // One new row per cache, at position cache->length; appends to each cache.
  void Decode(const T* params, const T* a, int rows, KvCache<T>* const* caches,
              const Projector& project, Activations* act, T* y) const;

 private:
  void Project(const T* params, const T* a, int rows, const int32_t* positions,
               const Projector& project, Activations* act) const;

  int hidden_, inner_, kv_, width_;
  kernels::AttentionShape shape_;
  kernels::RopeShape q_rope_, k_rope_;
  SoftmaxWeights offsets_;
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_SOFTMAX_LAYER_H_
