#include "model/policy.h"

#include <algorithm>
#include <string>

#include "core/logging.h"
#include "model/decode_cache.h"
#if LIGHTRL_WITH_CUDA
#include "model/cuda/model.h"
#include "model/cuda/optimizer.h"
#endif

namespace lightrl::model {
namespace {

class CpuPolicy : public Policy {
 public:
  CpuPolicy(std::unique_ptr<Model> model, const AdamWOptions& optimizer)
      : model_(std::move(model)), adamw_(model_->params().layout(), optimizer) {}

  Backend backend() const override { return Backend::kCpu; }
  const ModelConfig& config() const override { return model_->config(); }
  Precision precision() const override { return model_->precision(); }
  ParamArena<float>& params() override { return model_->params(); }
  void ParamsChanged() override {}
  void InitializeRandom(uint64_t seed) override { model_->InitializeRandom(seed); }
  StatusOr<ForwardOutput<float>> Forward(const PackedBatch& batch,
                                         const ForwardOptions& options) override {
    return model_->Forward(batch, options);
  }
  Status Backward(std::span<const float> dlogprob, std::span<const float> dentropy) override {
    return model_->Backward(dlogprob, dentropy);
  }
  void ZeroGrad() override { model_->ZeroGrad(); }
  double ClipAndStep(double max_grad_norm) override {
    const double norm = ClipGradNorm(model_->grads(), max_grad_norm);
    adamw_.Step(model_->params(), model_->grads());
    return norm;
  }
  StatusOr<std::vector<float>> Logits(const PackedBatch& batch,
                                      std::vector<std::vector<float>>* hidden) override {
    return model_->Logits(batch, hidden);
  }
  kernels::LmHeadOptions HeadOptions(double temperature) const override {
    return model_->HeadOptions(temperature);
  }

  const AdamWOptions& optimizer_options() const override { return adamw_.options(); }
  void set_optimizer_options(const AdamWOptions& options) override { adamw_.set_options(options); }
  int64_t optimizer_step() const override { return adamw_.step(); }
  AdamW SaveOptimizerState() override { return adamw_; }
  void RestoreOptimizerState(const AdamW& state) override {
    CHECK_EQ(state.first_moment().size(), adamw_.first_moment().size());
    adamw_.first_moment() = state.first_moment();
    adamw_.second_moment() = state.second_moment();
    adamw_.set_step(state.step());
  }

  Status ReserveDecoding(int slots, int capacity) override {
    if (slots <= 0 || capacity <= 0) {
      return InvalidArgumentError("decoding: slots and capacity must be positive");
    }
    caches_.assign(slots, model_->NewCache());
    capacity_ = capacity;
    return Status::Ok();
  }
  Status Prefill(std::span<const PrefillRequest> requests, float* logits) override {
    std::vector<std::vector<int32_t>> prompts;
    std::vector<SequenceCache<float>*> caches;
    for (const PrefillRequest& r : requests) {
      RETURN_IF_ERROR(CheckSlot(r.slot));
      if (static_cast<int>(r.prompt.size()) > capacity_) {
        return InvalidArgumentError("prefill: a prompt of " + std::to_string(r.prompt.size()) +
                                    " tokens exceeds the reserved capacity " +
                                    std::to_string(capacity_));
      }
      if (std::find(caches.begin(), caches.end(), &caches_[r.slot]) != caches.end()) {
        return InvalidArgumentError("prefill: slot " + std::to_string(r.slot) + " given twice");
      }
      prompts.push_back(r.prompt);
      caches.push_back(&caches_[r.slot]);
    }
    std::vector<float> discarded;
    if (logits == nullptr) {
      discarded.resize(requests.size() * static_cast<size_t>(model_->config().vocab_size));
      logits = discarded.data();
    }
    return model_->Prefill(prompts, caches, logits);
  }
  Status DecodeStep(std::span<const TokenId> tokens, std::span<const int32_t> slots,
                    float* logits) override {
    if (tokens.size() != slots.size()) {
      return InvalidArgumentError("decode: as many tokens as slots are needed");
    }
    std::vector<SequenceCache<float>*> caches;
    std::vector<bool> seen(caches_.size(), false);
    for (size_t i = 0; i < slots.size(); ++i) {
      RETURN_IF_ERROR(CheckSlot(slots[i]));
      SequenceCache<float>& cache = caches_[slots[i]];
      if (seen[slots[i]]) return InvalidArgumentError("decode: a slot appears twice");
      seen[slots[i]] = true;
      if (cache.length == 0) return FailedPreconditionError("decode: slot has no prompt");
      if (cache.length >= capacity_ || cache.length >= model_->config().max_position_embeddings) {
        return InvalidArgumentError("decode: slot " + std::to_string(slots[i]) + " is full");
      }
      if (tokens[i] < 0 || tokens[i] >= model_->config().vocab_size) {
        return InvalidArgumentError("decode: token " + std::to_string(tokens[i]) +
                                    " is outside the vocabulary");
      }
      caches.push_back(&cache);
    }
    std::vector<float> scratch;
    if (logits == nullptr) {
      scratch.resize(slots.size() * static_cast<size_t>(model_->config().vocab_size));
      logits = scratch.data();
    }
    model_->DecodeStep(tokens, caches, logits);
    return Status::Ok();
  }

 private:
  Status CheckSlot(int slot) const {
    if (caches_.empty()) return FailedPreconditionError("decoding: ReserveDecoding was not called");
    if (slot < 0 || slot >= static_cast<int>(caches_.size())) {
      return InvalidArgumentError("decoding: slot " + std::to_string(slot) + " is out of range");
    }
    return Status::Ok();
  }

  std::unique_ptr<Model> model_;
  AdamW adamw_;
  std::vector<SequenceCache<float>> caches_;
  int capacity_ = 0;
};

#if LIGHTRL_WITH_CUDA
class CudaPolicy : public Policy {
 public:
  CudaPolicy(std::unique_ptr<CudaModel> model, std::unique_ptr<CudaAdamW> adamw)
      : model_(std::move(model)), adamw_(std::move(adamw)) {}

  Backend backend() const override { return Backend::kCuda; }
  const ModelConfig& config() const override { return model_->config(); }
  Precision precision() const override { return model_->precision(); }
  ParamArena<float>& params() override {
    if (host_stale_) {
      Bound().DownloadParams();
      host_stale_ = false;
    }
    return model_->host_params();
  }
  void ParamsChanged() override { Bound().UploadParams(); }
  void InitializeRandom(uint64_t seed) override {
    Bound().InitializeRandom(seed);
    host_stale_ = false;
  }
  StatusOr<ForwardOutput<float>> Forward(const PackedBatch& batch,
                                         const ForwardOptions& options) override {
    return Bound().Forward(batch, options);
  }
  Status Backward(std::span<const float> dlogprob, std::span<const float> dentropy) override {
    return Bound().Backward(dlogprob, dentropy);
  }
  void ZeroGrad() override { Bound().ZeroGrad(); }
  double ClipAndStep(double max_grad_norm) override {
    CudaAdamW& adamw = BoundOptimizer();
    const double norm = adamw.ClipGradNorm(max_grad_norm);
    adamw.Step();
    host_stale_ = true;
    return norm;
  }
  StatusOr<std::vector<float>> Logits(const PackedBatch& batch,
                                      std::vector<std::vector<float>>* hidden) override {
    return Bound().Logits(batch, hidden);
  }
  // Sampling reads host logits that the device produced; only the temperature applies.
  kernels::LmHeadOptions HeadOptions(double temperature) const override {
    kernels::LmHeadOptions options;
    options.inv_temperature = 1.0 / temperature;
    return options;
  }

  const AdamWOptions& optimizer_options() const override { return adamw_->options(); }
  void set_optimizer_options(const AdamWOptions& options) override { adamw_->set_options(options); }
  int64_t optimizer_step() const override { return adamw_->step(); }
  AdamW SaveOptimizerState() override {
    AdamW state(model_->host_params().layout(), adamw_->options());
    BoundOptimizer().DownloadMoments(&state.first_moment(), &state.second_moment());
    state.set_step(adamw_->step());
    return state;
  }
  void RestoreOptimizerState(const AdamW& state) override {
    BoundOptimizer().UploadMoments(state.first_moment(), state.second_moment(), state.step());
  }

  Status ReserveDecoding(int slots, int capacity) override {
    return Bound().ReserveDecoding(slots, capacity);
  }
  Status Prefill(std::span<const PrefillRequest> requests, float* logits) override {
    return Bound().Prefill(requests, logits);
  }
  Status DecodeStep(std::span<const TokenId> tokens, std::span<const int32_t> slots,
                    float* logits) override {
    return Bound().DecodeStep(tokens, slots, logits);
  }
  CudaModel* weights_model() override { return model_.get(); }

 private:
  // The model, with its device selected for the calling thread (nodes create a policy on
  // one thread and drive it from another).
  CudaModel& Bound() const {
    model_->context().MakeCurrent();
    return *model_;
  }
  CudaAdamW& BoundOptimizer() const {
    model_->context().MakeCurrent();
    return *adamw_;
  }

  std::unique_ptr<CudaModel> model_;
  std::unique_ptr<CudaAdamW> adamw_;
  bool host_stale_ = false;
};
#endif

}  // namespace

const char* BackendName(Backend backend) { return backend == Backend::kCuda ? "cuda" : "cpu"; }

bool CudaBackendBuilt() { return LIGHTRL_WITH_CUDA != 0; }

Status ParsePolicyOptions(const ConfigNode& node, PolicyOptions* out,
                          std::span<const std::string_view> other_keys) {
  std::vector<std::string_view> keys = {"backend", "device", "bf16_gemm", "bf16_lm_head",
                                        "fp32_head_gemm"};
  keys.insert(keys.end(), other_keys.begin(), other_keys.end());
  RETURN_IF_ERROR(node.ExpectOnlyKeys(keys));
  std::string backend = BackendName(out->backend);
  RETURN_IF_ERROR(node.OptionalChoice("backend", &backend, {"cpu", "cuda"}));
  out->backend = backend == "cuda" ? Backend::kCuda : Backend::kCpu;
  RETURN_IF_ERROR(node.Optional("device", &out->device, 0, 1024));
  Precision precision = out->precision.value_or(
      out->backend == Backend::kCuda ? Precision{.bf16_gemm = true} : Precision{});
  RETURN_IF_ERROR(node.Optional("bf16_gemm", &precision.bf16_gemm));
  RETURN_IF_ERROR(node.Optional("bf16_lm_head", &precision.bf16_lm_head));
  if (node.Has("bf16_gemm") || node.Has("bf16_lm_head")) out->precision = precision;
  std::string head_gemm = out->plain_fp32_head_gemm ? "fp32" : "bf16x3";
  RETURN_IF_ERROR(node.OptionalChoice("fp32_head_gemm", &head_gemm, {"bf16x3", "fp32"}));
  out->plain_fp32_head_gemm = head_gemm == "fp32";
  return Status::Ok();
}

std::unique_ptr<Policy> MakeCpuPolicy(std::unique_ptr<Model> model, const AdamWOptions& optimizer) {
  return std::make_unique<CpuPolicy>(std::move(model), optimizer);
}

StatusOr<std::unique_ptr<Policy>> CreatePolicy(const ModelConfig& config,
                                               const PolicyOptions& options) {
  if (options.backend == Backend::kCpu) {
    ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                     Model::Create(config, options.precision.value_or(Precision{})));
    return MakeCpuPolicy(std::move(model), options.optimizer);
  }
#if LIGHTRL_WITH_CUDA
  CudaModelOptions cuda;
  cuda.device = options.device;
  if (options.precision.has_value()) cuda.precision = *options.precision;
  if (options.plain_fp32_head_gemm) cuda.fp32_head_gemm = kernels::cuda::GemmPrecision::kFp32;
  ASSIGN_OR_RETURN(std::unique_ptr<CudaModel> model, CudaModel::Create(config, cuda));
  ASSIGN_OR_RETURN(std::unique_ptr<CudaAdamW> adamw,
                   CudaAdamW::Create(model.get(), options.optimizer));
  return std::unique_ptr<Policy>(new CudaPolicy(std::move(model), std::move(adamw)));
#else
  return FailedPreconditionError(
      "model.backend: cuda was requested but this build has no CUDA (nvcc was not found when "
      "it was configured)");
#endif
}

}  // namespace lightrl::model
