// The GPU model against the CPU model (its reference): forward log-probs, entropies and the
// balancing loss, every gradient, the logits and hidden states, decoding through the
// recurrence and the KV cache, optimizer steps, and the error cases.
#include "model/cuda/model.h"

#include <gtest/gtest.h>

#include <cstring>

#include "model/cuda/optimizer.h"
#include "model/cuda/test_util.h"
#include "model/model.h"
#include "model/test_configs.h"

namespace lightrl::model {
namespace {

using testing::FanInInit;
using testing::MaxAbsDiff;
using testing::SmallHybridConfig;

constexpr Precision kFp32{.bf16_gemm = false, .bf16_lm_head = false};

class CudaModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LIGHTRL_REQUIRE_GPU();
    config_ = SmallHybridConfig();
    auto cpu = Model::Create(config_);
    ASSERT_TRUE(cpu.ok()) << cpu.status();
    cpu_ = std::move(*cpu);
    FanInInit(&cpu_->params(), 5);
    gpu_ = MakeGpu(kFp32);
  }

  std::unique_ptr<CudaModel> MakeGpu(const Precision& precision) {
    CudaModelOptions options;
    options.precision = precision;
    options.head.row_tile = 64;  // several tiles and chunks even at test sizes
    options.head.vocab_chunk = 128;
    auto gpu = CudaModel::Create(config_, options);
    CHECK_OK(gpu.status());
    std::memcpy((*gpu)->host_params().data(), cpu_->params().data(),
                cpu_->params().size() * sizeof(float));
    (*gpu)->UploadParams();
    return std::move(*gpu);
  }

  PackedBatch Batch() const { return model::testing::RandomBatch({70, 33, 2, 91}, 3, 300, 17); }

  ModelConfig config_;
  std::unique_ptr<Model> cpu_;
  std::unique_ptr<CudaModel> gpu_;
};

TEST_F(CudaModelTest, ForwardAndBackwardMatchCpuInFp32) {
  const PackedBatch batch = Batch();
  auto cpu_out = cpu_->Forward(batch);
  ASSERT_TRUE(cpu_out.ok());
  const auto dlogprob = kernels::cuda::testing::RandomFloats(batch.num_tokens(), 3);
  const auto dentropy = kernels::cuda::testing::RandomFloats(batch.num_tokens(), 4);
  cpu_->ZeroGrad();
  ASSERT_TRUE(cpu_->Backward(dlogprob, dentropy).ok());
  for (const auto head_gemm :
       {kernels::cuda::GemmPrecision::kBf16x3, kernels::cuda::GemmPrecision::kFp32}) {
    SCOPED_TRACE("fp32_head_gemm " + std::to_string(static_cast<int>(head_gemm)));
    gpu_->set_fp32_head_gemm(head_gemm);
    auto gpu_out = gpu_->Forward(batch);
    ASSERT_TRUE(gpu_out.ok()) << gpu_out.status();
    EXPECT_EQ(gpu_out->num_targets, cpu_out->num_targets);
    EXPECT_LT(MaxAbsDiff(gpu_out->logprobs, cpu_out->logprobs), 1e-4);
    EXPECT_LT(MaxAbsDiff(gpu_out->entropies, cpu_out->entropies), 1e-4);
    EXPECT_NEAR(gpu_out->aux_loss, cpu_out->aux_loss, 1e-6 * cpu_out->aux_loss);
    gpu_->ZeroGrad();
    ASSERT_TRUE(gpu_->Backward(dlogprob, dentropy).ok());
    ParamArena<float> grads(cpu_->params().layout());
    gpu_->DownloadGrads(&grads);
    for (const TensorInfo& t : grads.layout().tensors()) {
      const std::span<const float> got(grads.data() + t.offset, t.numel);
      const std::span<const float> want(cpu_->grads().data() + t.offset, t.numel);
      EXPECT_LT(kernels::cuda::testing::RelativeError(got, want), 1e-4) << t.name;
    }
  }
}

TEST_F(CudaModelTest, Bf16TrunkFollowsTheCpuBf16Mode) {
  const PackedBatch batch = Batch();
  auto gpu = MakeGpu({.bf16_gemm = true});
  cpu_->set_precision({.bf16_gemm = true});
  auto cpu_bf16 = cpu_->Forward(batch, {.keep_activations = false});
  cpu_->set_precision({});
  auto cpu_fp32 = cpu_->Forward(batch, {.keep_activations = false});
  auto got = gpu->Forward(batch, {.keep_activations = false});
  ASSERT_TRUE(got.ok()) << got.status();
  const double to_bf16 = MaxAbsDiff(got->logprobs, cpu_bf16->logprobs);
  const double to_fp32 = MaxAbsDiff(got->logprobs, cpu_fp32->logprobs);
  std::printf("bf16 trunk: max |Δ logprob| vs CPU bf16 mode %.3g, vs CPU FP32 %.3g\n", to_bf16,
              to_fp32);
  EXPECT_LT(to_bf16, 2e-2);
  EXPECT_GT(to_fp32, 1e-4) << "the trunk did not run in bf16";
}

TEST_F(CudaModelTest, LogitsAndHiddenStatesMatchCpu) {
  const PackedBatch batch = Batch();
  std::vector<std::vector<float>> cpu_hidden, gpu_hidden;
  auto cpu_logits = cpu_->Logits(batch, &cpu_hidden);
  auto gpu_logits = gpu_->Logits(batch, &gpu_hidden);
  ASSERT_TRUE(gpu_logits.ok()) << gpu_logits.status();
  ASSERT_EQ(gpu_hidden.size(), cpu_hidden.size());
  for (size_t i = 0; i < cpu_hidden.size(); ++i) {
    EXPECT_LT(MaxAbsDiff(gpu_hidden[i], cpu_hidden[i]), 1e-4) << "hidden." << i;
  }
  EXPECT_LT(MaxAbsDiff(*gpu_logits, *cpu_logits), 1e-4);
}

TEST_F(CudaModelTest, DecodingMatchesTheTrainingForward) {
  // Two sequences decoded side by side after prompts of 20 and 1 tokens, across several
  // lightning blocks (16 rows) and with the KV cache growing.
  const PackedBatch full = model::testing::RandomBatch({50, 37}, 1, 300, 23);
  auto reference = gpu_->Logits(full);
  ASSERT_TRUE(reference.ok());
  const int vocab = config_.vocab_size;
  ASSERT_TRUE(gpu_->ReserveDecoding(3, 64).ok());
  const std::vector<int> prompt = {20, 1};
  const std::vector<int32_t> slot = {2, 0};
  std::vector<PrefillRequest> requests;
  for (int s = 0; s < 2; ++s) {
    const auto begin = full.tokens.begin() + full.seq_offsets[s];
    requests.push_back({slot[s], std::vector<int32_t>(begin, begin + prompt[s])});
  }
  std::vector<float> logits(2 * vocab);
  ASSERT_TRUE(gpu_->Prefill(requests, logits.data()).ok());
  double worst = 0;
  auto check = [&](int s, int position, const float* row) {
    const float* want =
        reference->data() + static_cast<size_t>(full.seq_offsets[s] + position) * vocab;
    worst = std::max(
        worst, MaxAbsDiff({row, static_cast<size_t>(vocab)}, {want, static_cast<size_t>(vocab)}));
  };
  for (int s = 0; s < 2; ++s) check(s, prompt[s] - 1, logits.data() + s * vocab);
  for (int step = 0;; ++step) {
    std::vector<int32_t> tokens, slots;
    std::vector<int> seqs;
    for (int s = 0; s < 2; ++s) {
      const int position = prompt[s] + step;
      if (full.seq_offsets[s] + position >= full.seq_offsets[s + 1]) continue;
      tokens.push_back(full.tokens[full.seq_offsets[s] + position]);
      slots.push_back(slot[s]);
      seqs.push_back(s);
    }
    if (tokens.empty()) break;
    ASSERT_TRUE(gpu_->DecodeStep(tokens, slots, logits.data()).ok());
    for (size_t i = 0; i < seqs.size(); ++i)
      check(seqs[i], prompt[seqs[i]] + step, logits.data() + i * vocab);
  }
  EXPECT_EQ(gpu_->SlotLength(2), 50);
  EXPECT_EQ(gpu_->SlotLength(0), 37);
  std::printf("decoding vs training forward: max |Δ logit| %.3g\n", worst);
  EXPECT_LT(worst, 1e-4);
}

TEST_F(CudaModelTest, OptimizerStepsMatchCpu) {
  // The optimizer is under test: the head's products in plain FP32, so that the gradients
  // differ from the CPU's by FP32 rounding only (bf16x3 adds ~1e-5, which AdamW's
  // normalization can amplify over three steps).
  gpu_->set_fp32_head_gemm(kernels::cuda::GemmPrecision::kFp32);
  const PackedBatch batch = Batch();
  AdamW cpu_adamw(cpu_->params().layout(), {.lr = 1e-3, .weight_decay = 0.1});
  auto gpu_adamw = CudaAdamW::Create(gpu_.get(), {.lr = 1e-3, .weight_decay = 0.1});
  ASSERT_TRUE(gpu_adamw.ok());
  for (int step = 0; step < 3; ++step) {
    auto cpu_out = cpu_->Forward(batch);
    auto gpu_out = gpu_->Forward(batch);
    ASSERT_TRUE(cpu_out.ok() && gpu_out.ok());
    std::vector<float> dlogprob(batch.num_tokens(), 0.0f);
    for (int j = 0; j < batch.num_tokens(); ++j) dlogprob[j] = batch.loss_mask[j] ? -0.01f : 0.0f;
    cpu_->ZeroGrad();
    gpu_->ZeroGrad();
    ASSERT_TRUE(cpu_->Backward(dlogprob).ok());
    ASSERT_TRUE(gpu_->Backward(dlogprob).ok());
    const double cpu_norm = ClipGradNorm(cpu_->grads(), 0.5);
    const double gpu_norm = (*gpu_adamw)->ClipGradNorm(0.5);
    EXPECT_NEAR(gpu_norm, cpu_norm, 1e-4 * cpu_norm);
    cpu_adamw.Step(cpu_->params(), cpu_->grads());
    (*gpu_adamw)->Step();
  }
  gpu_->DownloadParams();
  EXPECT_LT(kernels::cuda::testing::RelativeError(
                {gpu_->host_params().data(), gpu_->host_params().size()},
                {cpu_->params().data(), cpu_->params().size()}),
            1e-5);
}

TEST_F(CudaModelTest, BadInputsAreErrors) {
  PackedBatch bad = Batch();
  bad.tokens[5] = 300;
  EXPECT_EQ(gpu_->Forward(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(gpu_->Backward(std::vector<float>(10)).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(gpu_->Forward(Batch()).ok());
  EXPECT_EQ(gpu_->Backward(std::vector<float>(10)).code(), StatusCode::kInvalidArgument);
  const std::vector<int32_t> token = {1};
  const std::vector<int32_t> slot0 = {0};
  EXPECT_EQ(gpu_->DecodeStep(token, slot0, nullptr).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(gpu_->ReserveDecoding(2, 8).ok());
  EXPECT_EQ(gpu_->DecodeStep(token, slot0, nullptr).code(), StatusCode::kFailedPrecondition);
  const std::vector<int32_t> slot5 = {5};
  EXPECT_EQ(gpu_->DecodeStep(token, slot5, nullptr).code(), StatusCode::kInvalidArgument);
  std::vector<PrefillRequest> too_long = {{0, std::vector<int32_t>(9, 1)}};
  EXPECT_EQ(gpu_->Prefill(too_long, nullptr).code(), StatusCode::kInvalidArgument);
  std::vector<PrefillRequest> twice = {{1, {1, 2}}, {1, {3}}};
  EXPECT_EQ(gpu_->Prefill(twice, nullptr).code(), StatusCode::kInvalidArgument);
  std::vector<PrefillRequest> fine = {{0, {1, 2, 3}}, {1, {4}}};
  ASSERT_TRUE(gpu_->Prefill(fine, nullptr).ok());
  const std::vector<int32_t> same_slot = {0, 0};
  const std::vector<int32_t> two_tokens = {1, 2};
  EXPECT_EQ(gpu_->DecodeStep(two_tokens, same_slot, nullptr).code(), StatusCode::kInvalidArgument);
  const std::vector<int32_t> bad_token = {300};
  EXPECT_EQ(gpu_->DecodeStep(bad_token, slot0, nullptr).code(), StatusCode::kInvalidArgument);
  ModelConfig wide = config_;
  wide.head_dim = 256;
  EXPECT_EQ(CudaModel::Create(wide).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightrl::model
