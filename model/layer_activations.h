// Internal to model/: what one decoder layer keeps between forward and backward, and what
// a kept forward keeps for the LM head. Not part of the API.
#ifndef LIGHTRL_MODEL_LAYER_ACTIVATIONS_H_
#define LIGHTRL_MODEL_LAYER_ACTIVATIONS_H_

#include <vector>

#include "model/lightning_layer.h"
#include "model/moe_layer.h"
#include "model/packed_batch.h"
#include "model/softmax_layer.h"

namespace lightrl::model::internal {

template <typename T>
struct LayerActivations {
  std::vector<T> x_in, inv_in, a;     // layer input, its input norm
  std::vector<T> x_mid, inv_post, b;  // after the attention residual, its norm
  std::vector<T> mixer_out, ffn_out;  // branch outputs (scratch)
  typename LightningLayer<T>::Activations lightning;
  typename SoftmaxLayer<T>::Activations softmax;
  typename MoeLayer<T>::Activations moe;
};

template <typename T>
struct KeptForward {
  bool valid = false;
  std::vector<int32_t> tokens;
  std::vector<int32_t> seq_offsets;
  BatchRows rows;
  std::vector<LayerActivations<T>> layers;
  std::vector<int32_t> head_targets;  // target token of each head row
  std::vector<T> head_in, inv_final, head_hidden, lse, entropy;
  std::vector<double> aux_dprob;  // coef × ∂aux/∂p per expert
  double temperature = 1;
};

}  // namespace lightrl::model::internal

#endif  // LIGHTRL_MODEL_LAYER_ACTIVATIONS_H_
