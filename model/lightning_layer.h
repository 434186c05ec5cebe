// The lightning-attention branch of a decoder layer (transformers' MiniMaxLightningAttention):
//   [q k v] = SiLU(a · W_qkvᵀ); o = lightning(q, k, v); o = RMSNorm(o) over all heads
//   (eps 1e-6, as transformers builds it); y = (σ(a · W_gateᵀ) ⊙ o) · W_outᵀ
// W_qkv and W_gate are adjacent in the arena and multiplied as one [4·inner, hidden] matrix.
//
// Thread-safety: const methods; concurrent calls need distinct activation buffers.
#ifndef LIGHTRL_MODEL_LIGHTNING_LAYER_H_
#define LIGHTRL_MODEL_LIGHTNING_LAYER_H_

#include <cstdint>
#include <vector>

#include "kernels/lightning.h"
#include "model/config.h"
#include "model/decode_cache.h"
#include "model/layer_weights.h"
#include "model/param_arena.h"
#include "model/projector.h"
#include "model/workspace.h"

namespace lightrl::model {

template <typename T>
class LightningLayer {
 public:
  // What the backward needs from the forward.
  struct Activations {
    std::vector<T> proj;     // [rows, 4·inner]: qkv then gate, before activation
    std::vector<T> act;      // [rows, 3·inner]: SiLU(qkv)
    std::vector<T> core;     // [rows, inner]: lightning output
    std::vector<T> inv_rms;  // [rows]
    std::vector<T> normed;   // [rows, inner]
    std::vector<T> gated;    // [rows, inner]
  };

  LightningLayer(const ModelConfig& config, const ParamLayout& layout, int layer);

  // y [rows, hidden] from the normed input a over the sequences of seq_offsets.
  void Forward(const T* params, const T* a, int rows, const int32_t* seq_offsets, int num_seqs,
               const Projector& project, Activations* act, T* y) const;

  // Adds ∂L/∂a to da and the weight gradients to grads (arena-shaped), given dy.
  void Backward(const T* params, const T* a, int rows, const int32_t* seq_offsets, int num_seqs,
                const kernels::GemmOptions& gemm, Activations* act, const T* dy, T* grads, T* da,
                Workspace<T>* ws) const;

  // Forward over the sequences of seq_offsets (prompts) that leaves in caches[s] what decoding
  // of sequence s continues from.
  void Prefill(const T* params, const T* a, int rows, const int32_t* seq_offsets, int num_seqs,
               const Projector& project, Activations* act, LightningCache<T>* const* caches,
               T* y) const;

  // One new row per sequence: rows = number of caches; each cache advances by one row.
  void Decode(const T* params, const T* a, int rows, LightningCache<T>* const* caches,
              const Projector& project, Activations* act, T* y) const;

 private:
  void Project(const T* params, const T* a, int rows, const Projector& project,
               Activations* act) const;
  void Finish(const T* params, int rows, const Projector& project, Activations* act, T* y) const;

  int hidden_, heads_, dim_, inner_, block_;
  std::vector<T> slopes_;
  std::vector<std::vector<T>> decay_;  // per head: E[n] = exp(−slope·n), n = 0..block
  LightningWeights offsets_;
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_LIGHTNING_LAYER_H_
