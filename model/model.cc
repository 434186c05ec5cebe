#include "model/model.h"

#include <cmath>
#include <cstring>
#include <random>

#include "core/logging.h"
#include "kernels/norm.h"
#include "kernels/parallel.h"
#include "kernels/router.h"
#include "model/layer_activations.h"

namespace lightrl::model {
namespace {

std::string LayerName(int layer, const char* suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

// out = alpha · a + beta · b, element-wise over n values.
template <typename T>
void Blend(const T* a, T alpha, const T* b, T beta, size_t n, T* out) {
  kernels::ParallelFor(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = a[i] * alpha + b[i] * beta;
  });
}

// out = s · in.
template <typename T>
void Scale(const T* in, T s, size_t n, T* out) {
  kernels::ParallelFor(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = in[i] * s;
  });
}

}  // namespace

template <typename T>
StatusOr<std::unique_ptr<ModelT<T>>> ModelT<T>::Create(const ModelConfig& config,
                                                       const Precision& precision) {
  RETURN_IF_ERROR(ValidateModelConfig(config, "model config"));
  return std::unique_ptr<ModelT<T>>(new ModelT<T>(config, precision));
}

template <typename T>
ModelT<T>::ModelT(const ModelConfig& config, const Precision& precision)
    : config_(config),
      precision_(precision),
      params_(ParamLayout::ForConfig(config)),
      grads_(params_.layout()),
      kept_(std::make_unique<internal::KeptForward<T>>()),
      scratch_(std::make_unique<LayerActivations>()) {
  const ParamLayout& layout = params_.layout();
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    if (config.layer_types[l] == AttentionType::kLightning) {
      mixer_index_.push_back(static_cast<int>(lightning_.size()));
      lightning_.emplace_back(config, layout, l);
    } else {
      mixer_index_.push_back(static_cast<int>(softmax_.size()));
      softmax_.emplace_back(config, layout, l);
    }
    moe_.emplace_back(config, layout, l);
    norm_in_.push_back(layout.Get(LayerName(l, "input_layernorm.weight")).offset);
    norm_post_.push_back(layout.Get(LayerName(l, "post_attention_layernorm.weight")).offset);
  }
  embed_ = layout.Get("model.embed_tokens.weight").offset;
  final_norm_ = layout.Get("model.norm.weight").offset;
  lm_head_ = layout.Get("lm_head.weight").offset;
}

template <typename T>
ModelT<T>::~ModelT() = default;

template <typename T>
void ModelT<T>::InitializeRandom(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, config_.initializer_range);
  for (const TensorInfo& t : params_.layout().tensors()) {
    T* values = params_.data() + t.offset;
    for (size_t i = 0; i < t.numel; ++i)
      values[i] = t.shape.size() == 1 ? T(1) : static_cast<T>(normal(rng));
  }
}

template <typename T>
std::pair<T, T> ModelT<T>::AttentionResidualFactors(int layer) const {
  if (config_.layer_types[layer] == AttentionType::kLightning) {
    return {static_cast<T>(config_.linear_attn_alpha_factor),
            static_cast<T>(config_.linear_attn_beta_factor)};
  }
  return {static_cast<T>(config_.full_attn_alpha_factor),
          static_cast<T>(config_.full_attn_beta_factor)};
}

template <typename T>
kernels::LmHeadOptions ModelT<T>::HeadOptions(double temperature) const {
  kernels::LmHeadOptions options;
  options.inv_temperature = 1.0 / temperature;
  options.gemm.bf16_inputs = precision_.bf16_lm_head;
  return options;
}

template <typename T>
Projector ModelT<T>::TrunkProjector() const {
  return Projector{kernels::GemmOptions{precision_.bf16_gemm}};
}

template <typename T>
void ModelT<T>::Embed(std::span<const TokenId> tokens, T* x) const {
  const int h = config_.hidden_size;
  kernels::ParallelForIndex(tokens.size(), 1, [&](int64_t r) {
    std::memcpy(x + r * h, params_.data() + embed_ + static_cast<size_t>(tokens[r]) * h,
                sizeof(T) * h);
  });
}

template <typename T>
void ModelT<T>::FinalNorm(const T* x, int rows, T* h, T* inv_rms) const {
  kernels::RmsNormForward(x, params_.data() + final_norm_, rows, config_.hidden_size,
                          static_cast<T>(config_.rms_norm_eps), h, inv_rms);
}

template <typename T>
template <typename MixerFn>
void ModelT<T>::DecoderLayer(int layer, int rows, const Projector& project, LayerActivations* act,
                             T* x, RouterStats* stats, MixerFn&& mixer) {
  const size_t n = static_cast<size_t>(rows) * config_.hidden_size;
  const T eps = static_cast<T>(config_.rms_norm_eps);
  const T* params = params_.data();
  const auto [alpha, beta] = AttentionResidualFactors(layer);
  act->x_in.assign(x, x + n);
  act->a.resize(n);
  act->inv_in.resize(rows);
  act->mixer_out.resize(n);
  kernels::RmsNormForward(x, params + norm_in_[layer], rows, config_.hidden_size, eps,
                          act->a.data(), act->inv_in.data());
  mixer(act->a.data(), act, act->mixer_out.data());
  Blend(act->a.data(), alpha, act->mixer_out.data(), beta, n, x);
  act->x_mid.assign(x, x + n);
  act->b.resize(n);
  act->inv_post.resize(rows);
  act->ffn_out.resize(n);
  kernels::RmsNormForward(x, params + norm_post_[layer], rows, config_.hidden_size, eps,
                          act->b.data(), act->inv_post.data());
  moe_[layer].Forward(params, act->b.data(), rows, project, &act->moe, act->ffn_out.data(), stats);
  Blend(act->b.data(), static_cast<T>(config_.mlp_alpha_factor), act->ffn_out.data(),
        static_cast<T>(config_.mlp_beta_factor), n, x);
}

template <typename T>
void ModelT<T>::RunTrunk(const PackedBatch& batch, const BatchRows& rows, bool keep,
                         std::vector<T>* x, std::vector<std::vector<T>>* hidden_states,
                         RouterStats* stats) {
  const int n = batch.num_tokens(), num_seqs = batch.num_sequences();
  const int32_t* offsets = batch.seq_offsets.data();
  const int32_t* positions = rows.positions.data();
  const Projector project = TrunkProjector();
  x->resize(static_cast<size_t>(n) * config_.hidden_size);
  Embed(batch.tokens, x->data());
  if (hidden_states != nullptr) hidden_states->push_back(*x);
  if (keep) kept_->layers.resize(config_.num_hidden_layers);
  for (int l = 0; l < config_.num_hidden_layers; ++l) {
    LayerActivations* act = keep ? &kept_->layers[l] : scratch_.get();
    const int m = mixer_index_[l];
    DecoderLayer(l, n, project, act, x->data(), stats,
                 [&](const T* a, LayerActivations* act, T* y) {
                   if (config_.layer_types[l] == AttentionType::kLightning) {
                     lightning_[m].Forward(params_.data(), a, n, offsets, num_seqs, project,
                                           &act->lightning, y);
                   } else {
                     softmax_[m].Forward(params_.data(), a, n, positions, offsets, num_seqs,
                                         project, &act->softmax, y);
                   }
                 });
    if (hidden_states != nullptr) hidden_states->push_back(*x);
  }
}

template <typename T>
StatusOr<ForwardOutput<T>> ModelT<T>::Forward(const PackedBatch& batch,
                                              const ForwardOptions& options) {
  ASSIGN_OR_RETURN(BatchRows rows,
                   AnalyzeBatch(batch, config_.vocab_size, config_.max_position_embeddings));
  if (!(options.temperature > 0))
    return InvalidArgumentError("forward: temperature must be positive");
  const int h = config_.hidden_size, experts = config_.num_local_experts;
  const bool keep = options.keep_activations;
  if (keep) kept_->valid = false;
  RouterStats stats{std::vector<double>(experts, 0.0), std::vector<double>(experts, 0.0), 0};
  std::vector<T> x;
  RunTrunk(batch, rows, keep, &x, nullptr, &stats);

  // The head sees only the rows that predict a masked token: row j−1 predicts token j.
  const int num_targets = static_cast<int>(rows.targets.size());
  internal::KeptForward<T> local;
  internal::KeptForward<T>& head = keep ? *kept_ : local;
  head.head_targets.resize(num_targets);
  head.head_in.resize(static_cast<size_t>(num_targets) * h);
  for (int i = 0; i < num_targets; ++i) {
    const int j = rows.targets[i];
    head.head_targets[i] = batch.tokens[j];
    std::memcpy(head.head_in.data() + static_cast<size_t>(i) * h,
                x.data() + static_cast<size_t>(j - 1) * h, sizeof(T) * h);
  }
  head.head_hidden.resize(head.head_in.size());
  head.inv_final.resize(num_targets);
  head.lse.resize(num_targets);
  head.entropy.resize(num_targets);
  FinalNorm(head.head_in.data(), num_targets, head.head_hidden.data(), head.inv_final.data());
  std::vector<T> logprob(num_targets);
  const kernels::LmHeadOptions head_options = HeadOptions(options.temperature);
  std::vector<T> scratch(kernels::LmHeadScratchSize(head_options, h));
  kernels::LmHeadForward(head.head_hidden.data(), num_targets, h, params_.data() + lm_head_,
                         config_.vocab_size, head.head_targets.data(), head_options, scratch.data(),
                         logprob.data(), head.entropy.data(), head.lse.data());

  ForwardOutput<T> out;
  out.num_targets = num_targets;
  out.logprobs.assign(batch.num_tokens(), T(0));
  out.entropies.assign(batch.num_tokens(), T(0));
  for (int i = 0; i < num_targets; ++i) {
    out.logprobs[rows.targets[i]] = logprob[i];
    out.entropies[rows.targets[i]] = head.entropy[i];
  }
  out.aux_loss =
      kernels::RouterAuxLoss(stats.routed.data(), stats.prob_sum.data(), experts, stats.rows);
  if (keep) {
    kept_->aux_dprob.resize(experts);
    kernels::RouterAuxLossGradient(stats.routed.data(), experts, stats.rows,
                                   kept_->aux_dprob.data());
    for (double& g : kept_->aux_dprob) g *= config_.router_aux_loss_coef;
    kept_->tokens = batch.tokens;
    kept_->seq_offsets = batch.seq_offsets;
    kept_->rows = std::move(rows);
    kept_->temperature = options.temperature;
    kept_->valid = true;
  }
  return out;
}

template <typename T>
void ModelT<T>::BackwardLayer(int layer, T* dx) {
  LayerActivations& act = kept_->layers[layer];
  const int rows = static_cast<int>(kept_->tokens.size()), h = config_.hidden_size;
  const size_t n = static_cast<size_t>(rows) * h;
  const kernels::GemmOptions gemm{precision_.bf16_gemm};
  const T* params = params_.data();
  T* grads = grads_.data();
  const int32_t* offsets = kept_->seq_offsets.data();
  const int num_seqs = static_cast<int>(kept_->seq_offsets.size()) - 1;
  const auto [alpha, beta] = AttentionResidualFactors(layer);
  T* d_branch = workspace_.Get(Slot::kDBranch, n);
  T* d_norm = workspace_.Get(Slot::kDNorm, n);
  // x_out = α_mlp·b + β_mlp·MoE(b)
  Scale(dx, static_cast<T>(config_.mlp_alpha_factor), n, d_norm);
  Scale(dx, static_cast<T>(config_.mlp_beta_factor), n, d_branch);
  moe_[layer].Backward(params, act.b.data(), rows, gemm, &act.moe, d_branch,
                       kept_->aux_dprob.data(), grads, d_norm, &workspace_);
  kernels::RmsNormBackward(act.x_mid.data(), params + norm_post_[layer], act.inv_post.data(),
                           d_norm, rows, h, dx, grads + norm_post_[layer]);
  // x_mid = α·a + β·Attn(a)
  Scale(dx, alpha, n, d_norm);
  Scale(dx, beta, n, d_branch);
  const int m = mixer_index_[layer];
  if (config_.layer_types[layer] == AttentionType::kLightning) {
    lightning_[m].Backward(params, act.a.data(), rows, offsets, num_seqs, gemm, &act.lightning,
                           d_branch, grads, d_norm, &workspace_);
  } else {
    softmax_[m].Backward(params, act.a.data(), rows, kept_->rows.positions.data(), offsets,
                         num_seqs, gemm, &act.softmax, d_branch, grads, d_norm, &workspace_);
  }
  kernels::RmsNormBackward(act.x_in.data(), params + norm_in_[layer], act.inv_in.data(), d_norm,
                           rows, h, dx, grads + norm_in_[layer]);
}

template <typename T>
Status ModelT<T>::Backward(std::span<const T> dlogprob, std::span<const T> dentropy) {
  if (!kept_->valid)
    return FailedPreconditionError("backward: no forward with keep_activations to differentiate");
  const int tokens = static_cast<int>(kept_->tokens.size()), h = config_.hidden_size;
  if (static_cast<int>(dlogprob.size()) != tokens ||
      (!dentropy.empty() && static_cast<int>(dentropy.size()) != tokens)) {
    return InvalidArgumentError(
        "backward: expected " + std::to_string(tokens) + " gradient entries per input, got " +
        std::to_string(dlogprob.size()) + " and " + std::to_string(dentropy.size()));
  }
  kept_->valid = false;
  const std::vector<int32_t>& targets = kept_->rows.targets;
  const int num_targets = static_cast<int>(targets.size());
  std::vector<T> g(num_targets), ge(dentropy.empty() ? 0 : num_targets);
  for (int i = 0; i < num_targets; ++i) {
    g[i] = dlogprob[targets[i]];
    if (!dentropy.empty()) ge[i] = dentropy[targets[i]];
  }
  const kernels::LmHeadOptions head_options = HeadOptions(kept_->temperature);
  std::vector<T> scratch(kernels::LmHeadScratchSize(head_options, h));
  T* d_hidden = workspace_.Get(Slot::kDHead, static_cast<size_t>(num_targets) * h);
  kernels::LmHeadBackward(
      kept_->head_hidden.data(), num_targets, h, params_.data() + lm_head_, config_.vocab_size,
      kept_->head_targets.data(), head_options, kept_->lse.data(), kept_->entropy.data(), g.data(),
      dentropy.empty() ? nullptr : ge.data(), scratch.data(), d_hidden, grads_.data() + lm_head_);
  kernels::RmsNormBackward(kept_->head_in.data(), params_.data() + final_norm_,
                           kept_->inv_final.data(), d_hidden, num_targets, h, d_hidden,
                           grads_.data() + final_norm_);
  T* dx = workspace_.Get(Slot::kDx, static_cast<size_t>(tokens) * h);
  std::fill(dx, dx + static_cast<size_t>(tokens) * h, T(0));
  for (int i = 0; i < num_targets; ++i) {
    std::memcpy(dx + static_cast<size_t>(targets[i] - 1) * h, d_hidden + static_cast<size_t>(i) * h,
                sizeof(T) * h);
  }
  for (int l = config_.num_hidden_layers - 1; l >= 0; --l) BackwardLayer(l, dx);
  T* d_embed = grads_.data() + embed_;
  for (int r = 0; r < tokens; ++r) {
    T* row = d_embed + static_cast<size_t>(kept_->tokens[r]) * h;
    const T* d = dx + static_cast<size_t>(r) * h;
    for (int c = 0; c < h; ++c) row[c] += d[c];
  }
  return Status::Ok();
}

template <typename T>
StatusOr<std::vector<T>> ModelT<T>::Logits(const PackedBatch& batch,
                                           std::vector<std::vector<T>>* hidden_states) {
  ASSIGN_OR_RETURN(BatchRows rows,
                   AnalyzeBatch(batch, config_.vocab_size, config_.max_position_embeddings));
  std::vector<T> x;
  if (hidden_states != nullptr) hidden_states->clear();
  RunTrunk(batch, rows, false, &x, hidden_states, nullptr);
  const int n = batch.num_tokens();
  std::vector<T> h(x.size()), logits(static_cast<size_t>(n) * config_.vocab_size);
  FinalNorm(x.data(), n, h.data(), nullptr);
  if (hidden_states != nullptr) hidden_states->back() = h;
  const kernels::LmHeadOptions options = HeadOptions(1.0);
  std::vector<T> scratch(kernels::LmHeadScratchSize(options, config_.hidden_size));
  kernels::LmHeadLogits(h.data(), n, config_.hidden_size, params_.data() + lm_head_,
                        config_.vocab_size, options, scratch.data(), logits.data());
  return logits;
}

template <typename T>
SequenceCache<T> ModelT<T>::NewCache() const {
  SequenceCache<T> cache;
  cache.lightning.resize(lightning_.size());
  cache.kv.resize(softmax_.size());
  return cache;
}

template <typename T>
Status ModelT<T>::Prefill(std::span<const std::vector<TokenId>> prompts,
                          std::span<SequenceCache<T>* const> caches, T* logits) {
  CHECK_EQ(prompts.size(), caches.size());
  PackedBatch batch;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty())
      return InvalidArgumentError("prefill: empty prompt " + std::to_string(i));
    batch.Append(prompts[i]);
  }
  if (prompts.empty()) return Status::Ok();
  RETURN_IF_ERROR(
      AnalyzeBatch(batch, config_.vocab_size, config_.max_position_embeddings).status());
  const int n = batch.num_tokens(), h = config_.hidden_size;
  const int num_prompts = static_cast<int>(prompts.size());
  const int32_t* offsets = batch.seq_offsets.data();
  for (SequenceCache<T>* cache : caches) *cache = NewCache();
  const Projector project = TrunkProjector();
  std::vector<T> x(static_cast<size_t>(n) * h);
  Embed(batch.tokens, x.data());
  std::vector<LightningCache<T>*> lightning_caches(num_prompts);
  std::vector<KvCache<T>*> kv_caches(num_prompts);
  for (int l = 0; l < config_.num_hidden_layers; ++l) {
    const int m = mixer_index_[l];
    const bool lightning = config_.layer_types[l] == AttentionType::kLightning;
    for (int s = 0; s < num_prompts; ++s) {
      if (lightning) {
        lightning_caches[s] = &caches[s]->lightning[m];
      } else {
        kv_caches[s] = &caches[s]->kv[m];
      }
    }
    DecoderLayer(l, n, project, scratch_.get(), x.data(), nullptr,
                 [&](const T* a, LayerActivations* act, T* y) {
                   if (lightning) {
                     lightning_[m].Prefill(params_.data(), a, n, offsets, num_prompts, project,
                                           &act->lightning, lightning_caches.data(), y);
                   } else {
                     softmax_[m].Prefill(params_.data(), a, n, offsets, num_prompts, project,
                                         &act->softmax, kv_caches.data(), y);
                   }
                 });
  }
  std::vector<T> last(static_cast<size_t>(num_prompts) * h);
  for (int s = 0; s < num_prompts; ++s) {
    caches[s]->length = offsets[s + 1] - offsets[s];
    std::memcpy(last.data() + static_cast<size_t>(s) * h,
                x.data() + static_cast<size_t>(offsets[s + 1] - 1) * h, sizeof(T) * h);
  }
  std::vector<T> hidden(last.size());
  FinalNorm(last.data(), num_prompts, hidden.data(), nullptr);
  const kernels::LmHeadOptions options = HeadOptions(1.0);
  std::vector<T> scratch(kernels::LmHeadScratchSize(options, h));
  kernels::LmHeadLogits(hidden.data(), num_prompts, h, params_.data() + lm_head_,
                        config_.vocab_size, options, scratch.data(), logits);
  return Status::Ok();
}

template <typename T>
void ModelT<T>::DecodeStep(std::span<const TokenId> tokens,
                           std::span<SequenceCache<T>* const> caches, T* logits) {
  CHECK_EQ(tokens.size(), caches.size());
  const int rows = static_cast<int>(tokens.size()), h = config_.hidden_size;
  const Projector project = TrunkProjector();
  std::vector<T> x(static_cast<size_t>(rows) * h);
  Embed(tokens, x.data());
  std::vector<LightningCache<T>*> lightning_caches(rows);
  std::vector<KvCache<T>*> kv_caches(rows);
  for (int l = 0; l < config_.num_hidden_layers; ++l) {
    const int m = mixer_index_[l];
    const bool lightning = config_.layer_types[l] == AttentionType::kLightning;
    for (int r = 0; r < rows; ++r) {
      if (lightning) {
        lightning_caches[r] = &caches[r]->lightning[m];
      } else {
        kv_caches[r] = &caches[r]->kv[m];
      }
    }
    DecoderLayer(l, rows, project, scratch_.get(), x.data(), nullptr,
                 [&](const T* a, LayerActivations* act, T* y) {
                   if (lightning) {
                     lightning_[m].Decode(params_.data(), a, rows, lightning_caches.data(), project,
                                          &act->lightning, y);
                   } else {
                     softmax_[m].Decode(params_.data(), a, rows, kv_caches.data(), project,
                                        &act->softmax, y);
                   }
                 });
  }
  for (SequenceCache<T>* cache : caches) ++cache->length;
  std::vector<T> hidden(x.size());
  FinalNorm(x.data(), rows, hidden.data(), nullptr);
  const kernels::LmHeadOptions options = HeadOptions(1.0);
  std::vector<T> scratch(kernels::LmHeadScratchSize(options, h));
  kernels::LmHeadLogits(hidden.data(), rows, h, params_.data() + lm_head_, config_.vocab_size,
                        options, scratch.data(), logits);
}

template class ModelT<float>;
template class ModelT<double>;

}  // namespace lightrl::model
