// The policy model: a MiniMax-M1 in miniature (docs/model.md), one implementation for the
// learner (training forward/backward over packed batches) and the rollout (incremental
// decoding through Generator).
//
// Layer l (transformers' MiniMaxDecoderLayer):
//   a = RMSNorm_in(x);  x' = α_attn · a + β_attn · Attn(a)     (the residual is taken after the
//   norm) b = RMSNorm_post(x'); x'' = α_mlp · b + β_mlp · MoE(b)
// with lightning or softmax attention per config.layer_types, then a final RMSNorm and
// an untied FP32 LM head fused with log-softmax.
//
// Parameters live in one arena (param_arena.h) with a gradient arena of the same layout.
// T is float for real use; double instantiations exist so tests can check the whole
// backward against finite differences.
//
// Thread-safety: not thread-safe. One thread drives a model; Forward/Backward/decoding
// must not overlap, and weights must not change during a call. The kernels use the
// kernels thread pool internally (kernels/parallel.h).
#ifndef LIGHTRL_MODEL_MODEL_H_
#define LIGHTRL_MODEL_MODEL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/token_id.h"
#include "kernels/lm_head.h"
#include "model/config.h"
#include "model/decode_cache.h"
#include "model/lightning_layer.h"
#include "model/moe_layer.h"
#include "model/packed_batch.h"
#include "model/param_arena.h"
#include "model/softmax_layer.h"
#include "model/workspace.h"

namespace lightrl::model {

namespace internal {
template <typename T>
struct LayerActivations;
template <typename T>
struct KeptForward;
}  // namespace internal

// Precision modes of the CPU model (docs/model.md, "Precision modes").
struct Precision {
  bool bf16_gemm = false;     // round the inputs of every trunk GEMM to bfloat16
  bool bf16_lm_head = false;  // the same for the LM head's GEMM (the head is FP32 otherwise)
};

struct ForwardOptions {
  // Keep what Backward needs. Off: forward-only (e.g. recomputing old-policy log-probs);
  // it leaves the activations of an earlier kept forward untouched.
  bool keep_activations = true;
  double temperature = 1.0;  // log-probs of softmax(logits / temperature)
};

template <typename T>
struct ForwardOutput {
  std::vector<T> logprobs;   // per token j: log p(tokens[j] | prefix); 0 where loss_mask is 0
  std::vector<T> entropies;  // per token j: entropy of that distribution; 0 where mask is 0
  double aux_loss = 0;       // MoE load-balancing loss (unscaled; Backward adds coef × it)
  int num_targets = 0;
};

template <typename T>
class ModelT {
 public:
  // InvalidArgument if the config does not validate.
  static StatusOr<std::unique_ptr<ModelT>> Create(const ModelConfig& config,
                                                  const Precision& precision = {});
  ~ModelT();

  const ModelConfig& config() const { return config_; }
  const Precision& precision() const { return precision_; }
  void set_precision(const Precision& precision) { precision_ = precision; }
  ParamArena<T>& params() { return params_; }
  const ParamArena<T>& params() const { return params_; }
  ParamArena<T>& grads() { return grads_; }
  const ParamArena<T>& grads() const { return grads_; }

  // transformers' initialization: matrices ~ N(0, initializer_range), norm weights 1.
  void InitializeRandom(uint64_t seed);

  // Log-probs and entropies of the masked tokens of `batch`. InvalidArgument for a bad
  // batch (see AnalyzeBatch). With keep_activations, a following Backward is allowed.
  StatusOr<ForwardOutput<T>> Forward(const PackedBatch& batch, const ForwardOptions& options = {});

  // Accumulates into grads() the gradient of L = Σ_j dlogprob[j]·logprob[j] +
  // dentropy[j]·entropy[j] + router_aux_loss_coef · aux_loss, for the last kept Forward.
  // dlogprob (and dentropy unless empty) have one entry per token; entries of unmasked
  // tokens are ignored. FailedPrecondition without a kept forward (each forward is
  // consumed by one backward); InvalidArgument for a size mismatch.
  Status Backward(std::span<const T> dlogprob, std::span<const T> dentropy = {});

  void ZeroGrad() { grads_.Fill(T(0)); }

  // Full logits [tokens, vocab] of every position (materialized; for tests and
  // evaluation). hidden_states, if given, receives transformers' output_hidden_states:
  // num_hidden_layers + 1 arrays of [tokens, hidden], the embeddings, the outputs of layers
  // 0..L−2, and the last layer's output after the final RMSNorm (what the head reads).
  StatusOr<std::vector<T>> Logits(const PackedBatch& batch,
                                  std::vector<std::vector<T>>* hidden_states = nullptr);

  // --- Incremental decoding (used by Generator) ---
  // An empty cache for one sequence.
  SequenceCache<T> NewCache() const;
  // Runs prompts through the model together (their rows share every projection and FFN
  // product), filling caches[i] for prompts[i], and writes the logits of each prompt's last
  // position ([prompts, vocab]; apply kernels::ScaleLogits for a temperature). Each prompt's
  // numbers do not depend on the others. InvalidArgument for an empty prompt, bad ids or a
  // prompt longer than max_position_embeddings; the caches are then unspecified.
  Status Prefill(std::span<const std::vector<TokenId>> prompts,
                 std::span<SequenceCache<T>* const> caches, T* logits);
  // Advances every cache by one token (tokens[i] for caches[i]) and writes the logits
  // [rows, vocab]. Each row's numbers do not depend on the other rows. The caller
  // guarantees ids in range and caches below max_position_embeddings.
  void DecodeStep(std::span<const TokenId> tokens, std::span<SequenceCache<T>* const> caches,
                  T* logits);
  // The LM-head options (chunking, temperature, precision) shared by training and decoding.
  kernels::LmHeadOptions HeadOptions(double temperature) const;

 private:
  using LayerActivations = internal::LayerActivations<T>;

  ModelT(const ModelConfig& config, const Precision& precision);
  // x [rows, hidden] ← the embeddings of tokens.
  void Embed(std::span<const TokenId> tokens, T* x) const;
  // Runs decoder layer `layer` in place on x [rows, hidden]. `mixer(a, act, y)` computes
  // the attention branch y from the normed input a.
  template <typename MixerFn>
  void DecoderLayer(int layer, int rows, const Projector& project, LayerActivations* act, T* x,
                    RouterStats* stats, MixerFn&& mixer);
  // Runs the whole trunk over a validated batch (x: [tokens, hidden] out).
  void RunTrunk(const PackedBatch& batch, const BatchRows& rows, bool keep, std::vector<T>* x,
                std::vector<std::vector<T>>* hidden_states, RouterStats* stats);
  void BackwardLayer(int layer, T* dx);
  Projector TrunkProjector() const;
  // (α, β) of the attention branch's residual for `layer`'s attention type.
  std::pair<T, T> AttentionResidualFactors(int layer) const;
  // h [rows, hidden] ← final RMSNorm of x (inv_rms nullable).
  void FinalNorm(const T* x, int rows, T* h, T* inv_rms) const;

  ModelConfig config_;
  Precision precision_;
  ParamArena<T> params_;
  ParamArena<T> grads_;
  std::vector<LightningLayer<T>> lightning_;  // one per lightning layer
  std::vector<SoftmaxLayer<T>> softmax_;      // one per softmax layer
  std::vector<MoeLayer<T>> moe_;              // one per layer
  std::vector<int> mixer_index_;              // layer → index into lightning_ or softmax_
  std::vector<size_t> norm_in_, norm_post_;   // arena offsets per layer
  size_t embed_, final_norm_, lm_head_;
  std::unique_ptr<internal::KeptForward<T>> kept_;
  std::unique_ptr<LayerActivations> scratch_;
  Workspace<T> workspace_;
};

using Model = ModelT<float>;

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_MODEL_H_
