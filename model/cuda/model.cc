#include "model/cuda/model.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/logging.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/lightning.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/router.h"
#include "kernels/router.h"
#include "model/cuda/model_state.h"

namespace lightrl::model {
namespace {

namespace kc = kernels::cuda;
using internal::CudaLayerActivations;
using internal::CudaModelState;
using internal::DeviceBatch;
using internal::DeviceHead;
using internal::DeviceRouterStats;
using internal::Sized;

std::string LayerName(int layer, const char* suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

Status CheckGpuLimits(const ModelConfig& config) {
  if (config.head_dim > kc::kMaxCudaLightningHeadDim ||
      config.head_dim > kc::kMaxCudaAttentionHeadDim) {
    return InvalidArgumentError("model config: head_dim " + std::to_string(config.head_dim) +
                                " is above the GPU kernels' limit of 128");
  }
  if (config.num_local_experts > kc::kMaxCudaExperts) {
    return InvalidArgumentError("model config: num_local_experts " +
                                std::to_string(config.num_local_experts) +
                                " is above the GPU kernels' limit of 256");
  }
  if (config.num_experts_per_tok > kc::kMaxCudaTopK) {
    return InvalidArgumentError("model config: num_experts_per_tok " +
                                std::to_string(config.num_experts_per_tok) +
                                " is above the GPU kernels' limit of 16");
  }
  return Status::Ok();
}

// The rows of each token, for the embedding's deterministic backward.
struct TokenGroupsHost {
  std::vector<int32_t> tokens, offsets, rows;
};

TokenGroupsHost GroupByToken(const std::vector<int32_t>& tokens) {
  std::vector<int32_t> order(tokens.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return tokens[a] < tokens[b]; });
  TokenGroupsHost groups;
  groups.rows = order;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i == 0 || tokens[order[i]] != tokens[order[i - 1]]) {
      groups.tokens.push_back(tokens[order[i]]);
      groups.offsets.push_back(static_cast<int32_t>(i));
    }
  }
  groups.offsets.push_back(static_cast<int32_t>(order.size()));
  return groups;
}

template <typename T>
void Upload(const CudaModelState& s, const std::vector<T>& host, kc::DeviceBuffer<T>* out) {
  out->MustResize(host.size());
  kc::CopyToDevice(*s.ctx, host.data(), host.size(), out->data());
}

}  // namespace

namespace internal {

DeviceWeights CudaModelState::Weights() {
  const bool any_bf16 = options.precision.bf16_gemm;
  return {ctx.get(), params.data(), any_bf16 ? params16.data() : nullptr, grads.data(),
          options.precision.bf16_gemm ? kc::GemmPrecision::kBf16 : kc::GemmPrecision::kFp32};
}

kc::LmHeadOptions CudaModelState::HeadOptions(double temperature) const {
  kc::LmHeadOptions head = options.head;
  head.inv_temperature = 1.0 / temperature;
  head.precision =
      options.precision.bf16_lm_head ? kc::GemmPrecision::kBf16 : options.fp32_head_gemm;
  return head;
}

std::pair<float, float> CudaModelState::AttentionFactors(int layer) const {
  if (config.layer_types[layer] == AttentionType::kLightning) {
    return {static_cast<float>(config.linear_attn_alpha_factor),
            static_cast<float>(config.linear_attn_beta_factor)};
  }
  return {static_cast<float>(config.full_attn_alpha_factor),
          static_cast<float>(config.full_attn_beta_factor)};
}

void CudaModelState::Prepare(const PackedBatch& batch, const BatchRows& rows, DeviceBatch* out) {
  out->seq_offsets = batch.seq_offsets;
  out->host_tokens = batch.tokens;
  Upload(*this, batch.tokens, &out->tokens);
  Upload(*this, rows.positions, &out->positions);
  out->lightning = std::make_unique<kc::LightningPlan>(*ctx, batch.seq_offsets, config.block_size);
  out->attention = std::make_unique<kc::AttentionPlan>(*ctx, batch.seq_offsets);
}

void CudaModelState::FinalNorm(const float* x, int rows, float* h, float* inv_rms) {
  kc::RmsNormForward(*ctx, x, params.data() + final_norm, rows, config.hidden_size,
                     static_cast<float>(config.rms_norm_eps), h, inv_rms);
}

}  // namespace internal

CudaModel::CudaModel(std::unique_ptr<CudaModelState> state) : s_(std::move(state)) {}
CudaModel::~CudaModel() = default;

StatusOr<std::unique_ptr<CudaModel>> CudaModel::Create(const ModelConfig& config,
                                                       const CudaModelOptions& options) {
  RETURN_IF_ERROR(ValidateModelConfig(config, "model config"));
  RETURN_IF_ERROR(CheckGpuLimits(config));
  if (options.max_tokens <= 0) return InvalidArgumentError("cuda model: max_tokens must be > 0");
  if (options.fp32_head_gemm == kc::GemmPrecision::kBf16) {
    return InvalidArgumentError("cuda model: fp32_head_gemm must be kBf16x3 or kFp32");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<kc::CudaContext> ctx, kc::CudaContext::Create(options.device));
  auto s = std::make_unique<CudaModelState>(config, options);
  s->ctx = std::move(ctx);
  const ParamLayout& layout = s->host.layout();
  const size_t n = layout.total_elements();
  RETURN_IF_ERROR(s->params.Resize(n));
  RETURN_IF_ERROR(s->grads.Resize(n));
  RETURN_IF_ERROR(s->params16.Resize(n));
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    if (config.layer_types[l] == AttentionType::kLightning) {
      s->mixer_index.push_back(static_cast<int>(s->lightning.size()));
      s->lightning.emplace_back(*s->ctx, config, layout, l);
    } else {
      s->mixer_index.push_back(static_cast<int>(s->softmax.size()));
      s->softmax.emplace_back(*s->ctx, config, layout, l);
    }
    s->moe.emplace_back(config, layout, l);
    s->norm_in.push_back(layout.Get(LayerName(l, "input_layernorm.weight")).offset);
    s->norm_post.push_back(layout.Get(LayerName(l, "post_attention_layernorm.weight")).offset);
  }
  s->embed = layout.Get("model.embed_tokens.weight").offset;
  s->final_norm = layout.Get("model.norm.weight").offset;
  s->lm_head = layout.Get("lm_head.weight").offset;
  RETURN_IF_ERROR(s->stats.Resize(2 * config.num_local_experts));
  std::unique_ptr<CudaModel> model(new CudaModel(std::move(s)));
  model->UploadParams();
  model->ZeroGrad();
  return model;
}

const ModelConfig& CudaModel::config() const { return s_->config; }
const Precision& CudaModel::precision() const { return s_->options.precision; }
void CudaModel::set_precision(const Precision& precision) {
  s_->options.precision = precision;
  s_->kept_valid = false;  // its bf16 copies follow the old precision
  DeviceParamsChanged();
}
void CudaModel::set_fp32_head_gemm(kc::GemmPrecision precision) {
  CHECK(precision != kc::GemmPrecision::kBf16);
  s_->options.fp32_head_gemm = precision;
}
const kc::CudaContext& CudaModel::context() const { return *s_->ctx; }
ParamArena<float>& CudaModel::host_params() { return s_->host; }
const ParamArena<float>& CudaModel::host_params() const { return s_->host; }
float* CudaModel::device_params() { return s_->params.data(); }
float* CudaModel::device_grads() { return s_->grads.data(); }
size_t CudaModel::num_params() const { return s_->host.size(); }

void CudaModel::UploadParams() {
  kc::CopyToDevice(*s_->ctx, s_->host.data(), s_->host.size(), s_->params.data());
  DeviceParamsChanged();
}

void CudaModel::DownloadParams() {
  kc::CopyToHost(*s_->ctx, s_->params.data(), s_->host.size(), s_->host.data());
}

void CudaModel::DownloadGrads(ParamArena<float>* grads) const {
  CHECK_EQ(grads->size(), s_->host.size());
  kc::CopyToHost(*s_->ctx, s_->grads.data(), grads->size(), grads->data());
}

void CudaModel::DeviceParamsChanged() {
  const size_t n = s_->host.size();
  kc::ConvertToBf16(*s_->ctx, s_->params.data(), 1, static_cast<int>(n), 1, s_->params16.data(), 1);
}

void CudaModel::InitializeRandom(uint64_t seed) {
  auto cpu = Model::Create(s_->config);
  CHECK_OK(cpu.status());
  (*cpu)->InitializeRandom(seed);
  std::memcpy(s_->host.data(), (*cpu)->params().data(), s_->host.size() * sizeof(float));
  UploadParams();
}

void CudaModel::ZeroGrad() {
  LIGHTRL_CUDA_CHECK(cudaMemsetAsync(s_->grads.data(), 0, s_->grads.bytes(), s_->ctx->stream()));
}

namespace {

// Runs the trunk over a prepared batch; x (device [rows, hidden]) receives the residual
// stream. hidden_states (nullable) receives transformers' output_hidden_states but the last.
void RunTrunk(CudaModelState& s, const DeviceBatch& batch, int rows, bool keep, float* x,
              std::vector<std::vector<float>>* hidden_states, DeviceRouterStats* stats) {
  const int h = s.config.hidden_size;
  const size_t n = static_cast<size_t>(rows) * h;
  kc::EmbeddingForward(*s.ctx, s.params.data() + s.embed, h, batch.tokens.data(), rows, x);
  auto record = [&] {
    if (hidden_states == nullptr) return;
    hidden_states->emplace_back(n);
    kc::CopyToHost(*s.ctx, x, n, hidden_states->back().data());
  };
  record();
  if (keep) s.kept_layers.resize(s.config.num_hidden_layers);
  const internal::BatchLayout layout = batch.Layout();
  const internal::DeviceWeights w = s.Weights();
  for (int l = 0; l < s.config.num_hidden_layers; ++l) {
    CudaLayerActivations* act = keep ? &s.kept_layers[l] : &s.scratch_layer;
    const int m = s.mixer_index[l];
    s.DecoderLayer(l, rows, keep, act, x, stats,
                   [&](const internal::Operand& a, CudaLayerActivations* act, float* y) {
                     if (s.config.layer_types[l] == AttentionType::kLightning) {
                       s.lightning[m].Forward(w, a, rows, layout, &act->lightning, y);
                     } else {
                       s.softmax[m].Forward(w, a, rows, layout, &act->softmax, y);
                     }
                   });
    record();
  }
}

}  // namespace

StatusOr<ForwardOutput<float>> CudaModel::Forward(const PackedBatch& batch,
                                                  const ForwardOptions& options) {
  CudaModelState& s = *s_;
  ASSIGN_OR_RETURN(BatchRows rows,
                   AnalyzeBatch(batch, s.config.vocab_size, s.config.max_position_embeddings));
  if (!(options.temperature > 0)) {
    return InvalidArgumentError("forward: temperature must be positive");
  }
  if (batch.num_tokens() > s.options.max_tokens) {
    return InvalidArgumentError("forward: " + std::to_string(batch.num_tokens()) +
                                " tokens is above the model's max_tokens " +
                                std::to_string(s.options.max_tokens));
  }
  const int h = s.config.hidden_size, experts = s.config.num_local_experts;
  const int n = batch.num_tokens();
  const bool keep = options.keep_activations;
  if (keep) s.kept_valid = false;
  DeviceBatch& db = keep ? s.kept_batch : s.temp_batch;
  DeviceHead& head = keep ? s.kept_head : s.temp_head;
  s.Prepare(batch, rows, &db);
  LIGHTRL_CUDA_CHECK(cudaMemsetAsync(s.stats.data(), 0, s.stats.bytes(), s.ctx->stream()));
  DeviceRouterStats stats{s.stats.data(), 0};
  float* x = s.ws.Get(Slot::kTrunk, static_cast<size_t>(n) * h);
  RunTrunk(s, db, n, keep, x, nullptr, &stats);

  // The head sees only the rows that predict a masked token: row j−1 predicts token j.
  const int num_targets = static_cast<int>(rows.targets.size());
  head.targets = rows.targets;
  std::vector<int32_t> head_rows(num_targets), target_ids(num_targets);
  for (int i = 0; i < num_targets; ++i) {
    head_rows[i] = rows.targets[i] - 1;
    target_ids[i] = batch.tokens[rows.targets[i]];
  }
  Upload(s, head_rows, &head.rows);
  Upload(s, target_ids, &head.target_ids);
  const size_t head_n = static_cast<size_t>(num_targets) * h;
  float* head_in = Sized(&head.head_in, head_n);
  float* hidden = Sized(&head.hidden, head_n);
  kc::GatherRows(*s.ctx, x, head.rows.data(), num_targets, h, head_in);
  s.FinalNorm(head_in, num_targets, hidden, Sized(&head.inv_final, num_targets));
  const kc::LmHeadOptions head_options = s.HeadOptions(options.temperature);
  kc::LmHeadForward(*s.ctx, hidden, num_targets, h,
                    {s.params.data() + s.lm_head, h, s.params16.data() + s.lm_head},
                    s.config.vocab_size, head.target_ids.data(), head_options,
                    Sized(&head.logprob, num_targets), Sized(&head.entropy, num_targets),
                    Sized(&head.lse, num_targets));
  std::vector<float> logprob(num_targets), entropy(num_targets);
  kc::CopyToHost(*s.ctx, head.logprob.data(), num_targets, logprob.data());
  kc::CopyToHost(*s.ctx, head.entropy.data(), num_targets, entropy.data());
  std::vector<double> host_stats(2 * experts);
  kc::CopyToHost(*s.ctx, s.stats.data(), host_stats.size(), host_stats.data());

  ForwardOutput<float> out;
  out.num_targets = num_targets;
  out.logprobs.assign(n, 0.0f);
  out.entropies.assign(n, 0.0f);
  for (int i = 0; i < num_targets; ++i) {
    out.logprobs[rows.targets[i]] = logprob[i];
    out.entropies[rows.targets[i]] = entropy[i];
  }
  out.aux_loss =
      kernels::RouterAuxLoss(host_stats.data(), host_stats.data() + experts, experts, stats.rows);
  if (keep) {
    std::vector<double> dprob(experts);
    kernels::RouterAuxLossGradient(host_stats.data(), experts, stats.rows, dprob.data());
    std::vector<float> aux(experts);
    for (int e = 0; e < experts; ++e) {
      aux[e] = static_cast<float>(dprob[e] * s.config.router_aux_loss_coef);
    }
    Upload(s, aux, &s.aux_dprob);
    s.kept_temperature = options.temperature;
    s.kept_valid = true;
  }
  return out;
}

Status CudaModel::Backward(std::span<const float> dlogprob, std::span<const float> dentropy) {
  CudaModelState& s = *s_;
  if (!s.kept_valid) {
    return FailedPreconditionError("backward: no forward with keep_activations to differentiate");
  }
  const int tokens = static_cast<int>(s.kept_batch.seq_offsets.back());
  if (static_cast<int>(dlogprob.size()) != tokens ||
      (!dentropy.empty() && static_cast<int>(dentropy.size()) != tokens)) {
    return InvalidArgumentError(
        "backward: expected " + std::to_string(tokens) + " gradient entries per input, got " +
        std::to_string(dlogprob.size()) + " and " + std::to_string(dentropy.size()));
  }
  s.kept_valid = false;
  const int h = s.config.hidden_size;
  const size_t n = static_cast<size_t>(tokens) * h;
  DeviceHead& head = s.kept_head;
  const int num_targets = static_cast<int>(head.targets.size());
  std::vector<float> g(num_targets), ge(dentropy.empty() ? 0 : num_targets);
  for (int i = 0; i < num_targets; ++i) {
    g[i] = dlogprob[head.targets[i]];
    if (!dentropy.empty()) ge[i] = dentropy[head.targets[i]];
  }
  internal::DeviceFloats d_g, d_ge;
  Upload(s, g, &d_g);
  if (!ge.empty()) Upload(s, ge, &d_ge);
  float* d_hidden = s.ws.Get(Slot::kDHead, static_cast<size_t>(num_targets) * h);
  kc::LmHeadBackward(*s.ctx, head.hidden.data(), num_targets, h,
                     {s.params.data() + s.lm_head, h, s.params16.data() + s.lm_head},
                     s.config.vocab_size, head.target_ids.data(), s.HeadOptions(s.kept_temperature),
                     head.lse.data(), head.entropy.data(), d_g.data(),
                     ge.empty() ? nullptr : d_ge.data(), d_hidden, s.grads.data() + s.lm_head);
  kc::RmsNormBackward(*s.ctx, head.head_in.data(), s.params.data() + s.final_norm,
                      head.inv_final.data(), d_hidden, num_targets, h, d_hidden,
                      s.grads.data() + s.final_norm);
  float* dx = s.ws.Get(Slot::kDx, n);
  LIGHTRL_CUDA_CHECK(cudaMemsetAsync(dx, 0, n * sizeof(float), s.ctx->stream()));
  kc::ScatterRows(*s.ctx, d_hidden, head.rows.data(), num_targets, h, dx);

  const internal::DeviceWeights w = s.Weights();
  const internal::BatchLayout layout = s.kept_batch.Layout();
  // A branch's output gradient: β·dx (dx itself when β = 1; a branch's backward does not
  // write dx, which its norm's backward overwrites only afterwards).
  auto branch_grad = [&](float beta) -> const float* {
    if (beta == 1.0f) return dx;
    float* d_branch = s.ws.Get(Slot::kDBranch, n);
    kc::Scale(*s.ctx, dx, beta, n, d_branch);
    return d_branch;
  };
  for (int l = s.config.num_hidden_layers - 1; l >= 0; --l) {
    CudaLayerActivations& act = s.kept_layers[l];
    const auto [alpha, beta] = s.AttentionFactors(l);
    float* d_norm = s.ws.Get(Slot::kDNorm, n);
    kc::Scale(*s.ctx, dx, static_cast<float>(s.config.mlp_alpha_factor), n, d_norm);
    s.moe[l].Backward(w, {act.b.data(), w.Kept(act.b16)}, tokens, &act.moe,
                      branch_grad(static_cast<float>(s.config.mlp_beta_factor)), s.aux_dprob.data(),
                      d_norm, &s.ws);
    kc::RmsNormBackward(*s.ctx, act.x_mid.data(), s.params.data() + s.norm_post[l],
                        act.inv_post.data(), d_norm, tokens, h, dx,
                        s.grads.data() + s.norm_post[l]);
    kc::Scale(*s.ctx, dx, alpha, n, d_norm);
    const internal::Operand a{act.a.data(), w.Kept(act.a16)};
    const int m = s.mixer_index[l];
    if (s.config.layer_types[l] == AttentionType::kLightning) {
      s.lightning[m].Backward(w, a, tokens, layout, &act.lightning, branch_grad(beta), d_norm,
                              &s.ws);
    } else {
      s.softmax[m].Backward(w, a, tokens, layout, &act.softmax, branch_grad(beta), d_norm, &s.ws);
    }
    kc::RmsNormBackward(*s.ctx, act.x_in.data(), s.params.data() + s.norm_in[l], act.inv_in.data(),
                        d_norm, tokens, h, dx, s.grads.data() + s.norm_in[l]);
  }
  const TokenGroupsHost groups = GroupByToken(s.kept_batch.host_tokens);
  internal::DeviceInts group_tokens, group_offsets, group_rows;
  Upload(s, groups.tokens, &group_tokens);
  Upload(s, groups.offsets, &group_offsets);
  Upload(s, groups.rows, &group_rows);
  kc::EmbeddingBackward(*s.ctx, dx, h,
                        {static_cast<int>(groups.tokens.size()), group_tokens.data(),
                         group_offsets.data(), group_rows.data()},
                        s.grads.data() + s.embed);
  s.ctx->Synchronize();  // the local device arrays above go out of scope
  return Status::Ok();
}

StatusOr<std::vector<float>> CudaModel::Logits(const PackedBatch& batch,
                                               std::vector<std::vector<float>>* hidden_states) {
  CudaModelState& s = *s_;
  ASSIGN_OR_RETURN(BatchRows rows,
                   AnalyzeBatch(batch, s.config.vocab_size, s.config.max_position_embeddings));
  if (batch.num_tokens() > s.options.max_tokens) {
    return InvalidArgumentError("logits: " + std::to_string(batch.num_tokens()) +
                                " tokens is above the model's max_tokens " +
                                std::to_string(s.options.max_tokens));
  }
  const int n = batch.num_tokens(), h = s.config.hidden_size, vocab = s.config.vocab_size;
  s.Prepare(batch, rows, &s.temp_batch);
  if (hidden_states != nullptr) hidden_states->clear();
  float* x = s.ws.Get(Slot::kTrunk, static_cast<size_t>(n) * h);
  RunTrunk(s, s.temp_batch, n, false, x, hidden_states, nullptr);
  float* normed = s.ws.Get(Slot::kDHead, static_cast<size_t>(n) * h);
  s.FinalNorm(x, n, normed, nullptr);
  if (hidden_states != nullptr) {
    kc::CopyToHost(*s.ctx, normed, static_cast<size_t>(n) * h, hidden_states->back().data());
  }
  float* logits = Sized(&s.logits, static_cast<size_t>(n) * vocab);
  kc::LmHeadLogits(*s.ctx, normed, n, h,
                   {s.params.data() + s.lm_head, h, s.params16.data() + s.lm_head}, vocab,
                   s.HeadOptions(1.0), logits);
  std::vector<float> out(static_cast<size_t>(n) * vocab);
  kc::CopyToHost(*s.ctx, logits, out.size(), out.data());
  return out;
}

}  // namespace lightrl::model
