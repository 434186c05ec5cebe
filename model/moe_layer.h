// The feed-forward branch of a decoder layer (transformers' MiniMaxSparseMoeBlock):
// router softmax over E experts, top-k, weights renormalized to sum to 1, SwiGLU experts
// (w2 · (silu(w1 x) ⊙ w3 x)), outputs summed with their weights in ascending expert order
// as transformers' index_add does. One expert with top-1 is a dense SwiGLU FFN.
//
// Thread-safety: const methods; concurrent calls need distinct activation buffers.
#ifndef LIGHTRL_MODEL_MOE_LAYER_H_
#define LIGHTRL_MODEL_MOE_LAYER_H_

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/layer_weights.h"
#include "model/param_arena.h"
#include "model/projector.h"
#include "model/workspace.h"

namespace lightrl::model {

// Routing statistics summed over the MoE layers of one forward (for the balancing loss).
struct RouterStats {
  std::vector<double> routed;    // [experts]: (row, slot) pairs sent to each expert
  std::vector<double> prob_sum;  // [experts]: Σ router probability
  double rows = 0;               // rows × layers
};

template <typename T>
class MoeLayer {
 public:
  struct Activations {
    std::vector<T> probs;                 // [rows, E]
    std::vector<T> weights;               // [rows, k]
    std::vector<int32_t> experts;         // [rows, k]
    std::vector<int32_t> slot_position;   // [rows·k]: where (row, slot) sits in expert order
    std::vector<int32_t> expert_offsets;  // [E + 1]: each expert's range in expert order
    std::vector<T> gathered;              // [rows·k, hidden], expert order
    std::vector<T> gate_up;               // [rows·k, 2·inter]
    std::vector<T> inner;                 // [rows·k, inter]
    std::vector<T> expert_out;            // [rows·k, hidden]
  };

  MoeLayer(const ModelConfig& config, const ParamLayout& layout, int layer);

  // z [rows, hidden] from the normed input b. Adds this layer's routing to stats if given.
  void Forward(const T* params, const T* b, int rows, const Projector& project, Activations* act,
               T* z, RouterStats* stats) const;

  // Adds ∂L/∂b to db and the weight gradients to grads, given dz. aux_dprob[e] (nullable) is
  // ∂(coefficient · balancing loss)/∂p[row, e], the same for every row.
  void Backward(const T* params, const T* b, int rows, const kernels::GemmOptions& gemm,
                Activations* act, const T* dz, const double* aux_dprob, T* grads, T* db,
                Workspace<T>* ws) const;

 private:
  void Dispatch(int rows, Activations* act) const;

  int hidden_, inter_, experts_, top_k_;
  MoeWeights offsets_;
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_MOE_LAYER_H_
