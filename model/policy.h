// The policy model behind a backend-neutral interface: the CPU engine (model.h) or the
// CUDA engine (cuda/model.h), chosen by configuration:
//
//   model:
//     backend: cuda        # cpu (default) | cuda
//     device: 0            # CUDA device index
//     bf16_gemm: true      # trunk GEMMs in bf16 (default: false on cpu, true on cuda)
//     bf16_lm_head: false  # the LM head's GEMM in bf16 (the precision study)
//     fp32_head_gemm: bf16x3  # cuda, FP32 head: bf16x3 tensor-core products (default) or
//                             # fp32 (plain FP32 GEMMs, the precision study)
//
// Both backends take the same batches and return the same per-token outputs; weights are
// read and written through the host arena params() (call ParamsChanged() after writing
// it). The optimizer (AdamW with MiniMax's defaults and global gradient-norm clipping) and
// the decoding slots live with the backend; the optimizer's state crosses to the host only
// for checkpoints (SaveOptimizerState / RestoreOptimizerState).
//
// Errors: those of Model / CudaModel; CreatePolicy returns FailedPrecondition for the cuda
// backend in a build without CUDA or on a machine without a usable GPU.
// Thread-safety: not thread-safe; one thread drives a policy.
#ifndef LIGHTRL_MODEL_POLICY_H_
#define LIGHTRL_MODEL_POLICY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "core/token_id.h"
#include "kernels/lm_head.h"
#include "model/model.h"
#include "model/optimizer.h"

namespace lightrl::model {

enum class Backend { kCpu, kCuda };
class CudaModel;

const char* BackendName(Backend backend);
// True when this build contains the CUDA backend.
bool CudaBackendBuilt();

struct PolicyOptions {
  Backend backend = Backend::kCpu;
  int device = 0;
  // Default: the backend's (CPU all FP32; CUDA bf16 trunk with an FP32 head).
  std::optional<Precision> precision;
  // CUDA, FP32 head: plain FP32 GEMMs instead of bf16x3 products (cuda/model.h).
  bool plain_fp32_head_gemm = false;
  AdamWOptions optimizer;
};

// Reads the keys above from a `model:` section, which may also hold `other_keys` (read by
// the caller); any other key is an error. Errors name file, key and reason.
Status ParsePolicyOptions(const ConfigNode& node, PolicyOptions* out,
                          std::span<const std::string_view> other_keys = {});

struct PrefillRequest {
  int slot = 0;
  std::vector<TokenId> prompt;
};

class Policy {
 public:
  virtual ~Policy() = default;

  virtual Backend backend() const = 0;
  virtual const ModelConfig& config() const = 0;
  virtual Precision precision() const = 0;

  // The host copy of the weights.
  virtual ParamArena<float>& params() = 0;
  // After writing params(): makes the backend use them.
  virtual void ParamsChanged() = 0;
  // transformers' initialization (the CPU model's values on every backend).
  virtual void InitializeRandom(uint64_t seed) = 0;

  virtual StatusOr<ForwardOutput<float>> Forward(const PackedBatch& batch,
                                                 const ForwardOptions& options = {}) = 0;
  virtual Status Backward(std::span<const float> dlogprob,
                          std::span<const float> dentropy = {}) = 0;
  virtual void ZeroGrad() = 0;
  // Clips the global gradient norm at max_grad_norm (<= 0: no clipping), takes one AdamW
  // step and returns the norm before clipping. params() is refreshed.
  virtual double ClipAndStep(double max_grad_norm) = 0;
  virtual StatusOr<std::vector<float>> Logits(
      const PackedBatch& batch, std::vector<std::vector<float>>* hidden_states = nullptr) = 0;
  // The head options under which host code turns this policy's logits into log-probs the way
  // its training forward does (sampling uses them); temperature > 0.
  virtual kernels::LmHeadOptions HeadOptions(double temperature) const = 0;

  // The optimizer's hyperparameters; they may change between steps (e.g. the learning rate).
  virtual const AdamWOptions& optimizer_options() const = 0;
  virtual void set_optimizer_options(const AdamWOptions& options) = 0;
  // AdamW steps taken.
  virtual int64_t optimizer_step() const = 0;
  // A host copy of the optimizer (options, step and moments), for checkpoints.
  virtual AdamW SaveOptimizerState() = 0;
  // Takes the step and moments of `state` (which must have this policy's layout); the
  // options stay this policy's.
  virtual void RestoreOptimizerState(const AdamW& state) = 0;

  // Decoding in slots: ReserveDecoding(slots, capacity) once; Prefill runs prompts into
  // their slots (logits of each prompt's last position, [requests, vocab], host); DecodeStep
  // advances distinct slots by one token each (logits [rows, vocab]).
  virtual Status ReserveDecoding(int slots, int capacity) = 0;
  virtual Status Prefill(std::span<const PrefillRequest> requests, float* logits) = 0;
  virtual Status DecodeStep(std::span<const TokenId> tokens, std::span<const int32_t> slots,
                            float* logits) = 0;

  // The GPU model that holds the weights (replica 0 with several GPUs), for device-to-device
  // weight transfers; nullptr on the CPU.
  virtual CudaModel* weights_model() { return nullptr; }
};

StatusOr<std::unique_ptr<Policy>> CreatePolicy(const ModelConfig& config,
                                               const PolicyOptions& options);

// A CPU policy around an existing model (its weights and precision are kept).
std::unique_ptr<Policy> MakeCpuPolicy(std::unique_ptr<Model> model,
                                      const AdamWOptions& optimizer = {});

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_POLICY_H_
