// The policy model on one GPU: the same network, parameter layout and batch contract as
// model.h (the CPU engine, which is its reference), over kernels/cuda.
//
// Precision (docs/gpu.md): the trunk's GEMMs run in bf16 with FP32 accumulation
// (Precision::bf16_gemm, the default here) or in FP32; activations, norms, the lightning
// state and the attention softmax stay FP32; the LM head is FP32 (or bf16 with
// Precision::bf16_lm_head, for the precision study). The FP32 head's GEMMs run as bf16x3
// products on tensor cores by default (FP32 weights and hidden rows split into bf16 hi + lo;
// kernels/cuda/gemm.h gives the accuracy) or as plain FP32 GEMMs
// (CudaModelOptions::fp32_head_gemm). The router's logits are FP32 always.
//
// Weights: host_params() is the host copy (checkpoints, weight transfer); UploadParams()
// copies it to the device, DownloadParams() back. Gradients and the optimizer state live on
// the device (optimizer.h); DownloadGrads() copies the gradients out.
//
// Decoding: ReserveDecoding(slots, capacity) allocates, per slot, the FP32 lightning states
// (heads × d² per lightning layer, constant in the sequence length) and a KV cache of
// `capacity` positions per softmax layer. Prefill runs prompts into slots; DecodeStep
// advances a set of slots by one token each through the lightning recurrence and the KV
// cache.
//
// Errors: InvalidArgument for bad batches (AnalyzeBatch's messages), bad slots or tokens,
// prompts or sequences longer than the reserved capacity, or more tokens than
// CudaModelOptions::max_tokens; FailedPrecondition for Backward without a kept forward or
// decoding without ReserveDecoding. A failing CUDA call aborts (kernels/cuda/device.h).
//
// Thread-safety: not thread-safe; one thread drives a model and its CUDA context.
#ifndef LIGHTRL_MODEL_CUDA_MODEL_H_
#define LIGHTRL_MODEL_CUDA_MODEL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/lm_head.h"
#include "model/config.h"
#include "model/model.h"
#include "model/packed_batch.h"
#include "model/param_arena.h"
#include "model/policy.h"

namespace lightrl::model {

namespace internal {
struct CudaModelState;
}

struct CudaModelOptions {
  Precision precision{.bf16_gemm = true, .bf16_lm_head = false};
  int device = 0;
  int max_tokens = 1 << 20;           // per Forward/Logits/Prefill call
  kernels::cuda::LmHeadOptions head;  // tiles of the fused head (precision comes from above)
  // The GEMMs of the FP32 head (bf16_lm_head false): kBf16x3 or kFp32.
  kernels::cuda::GemmPrecision fp32_head_gemm = kernels::cuda::GemmPrecision::kBf16x3;
};

class CudaModel {
 public:
  // InvalidArgument for a config the model or the GPU kernels cannot run (head dims above
  // 128, more than 256 experts or top-k above 16) or an fp32_head_gemm of kBf16; FailedPrecondition
  // without a device.
  static StatusOr<std::unique_ptr<CudaModel>> Create(const ModelConfig& config,
                                                     const CudaModelOptions& options = {});
  ~CudaModel();

  const ModelConfig& config() const;
  const Precision& precision() const;
  // Discards a kept forward (Backward then returns FailedPrecondition).
  void set_precision(const Precision& precision);
  // kBf16x3 or kFp32 (CudaModelOptions::fp32_head_gemm).
  void set_fp32_head_gemm(kernels::cuda::GemmPrecision precision);
  const kernels::cuda::CudaContext& context() const;

  ParamArena<float>& host_params();
  const ParamArena<float>& host_params() const;
  void UploadParams();
  void DownloadParams();
  void DownloadGrads(ParamArena<float>* grads) const;
  // The device arenas (same layout as host_params()): for the optimizer and NCCL.
  float* device_params();
  float* device_grads();
  size_t num_params() const;
  // Call after changing device_params() in place (the bf16 copy follows).
  void DeviceParamsChanged();

  // The CPU model's InitializeRandom (same values), then UploadParams().
  void InitializeRandom(uint64_t seed);

  // As Model::Forward / Backward / Logits.
  StatusOr<ForwardOutput<float>> Forward(const PackedBatch& batch,
                                         const ForwardOptions& options = {});
  Status Backward(std::span<const float> dlogprob, std::span<const float> dentropy = {});
  void ZeroGrad();
  StatusOr<std::vector<float>> Logits(const PackedBatch& batch,
                                      std::vector<std::vector<float>>* hidden_states = nullptr);

  // --- Decoding ---
  Status ReserveDecoding(int slots, int capacity);
  // Runs the prompts (packed, one forward) into their slots, which restart; writes the
  // logits of each prompt's last position to logits (host, [requests, vocab]; nullable).
  Status Prefill(std::span<const PrefillRequest> requests, float* logits);
  // Advances slots[i] by tokens[i] (distinct slots) and writes logits [rows, vocab] (host;
  // nullable: then LastLogits() holds them on the device).
  Status DecodeStep(std::span<const TokenId> tokens, std::span<const int32_t> slots, float* logits);
  // Tokens consumed by a slot so far.
  int SlotLength(int slot) const;
  // The device logits [rows, vocab] of the last Prefill or DecodeStep.
  const float* LastLogits() const;

 private:
  explicit CudaModel(std::unique_ptr<internal::CudaModelState> state);
  std::unique_ptr<internal::CudaModelState> s_;
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_CUDA_MODEL_H_
