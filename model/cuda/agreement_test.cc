// The GPU model against outside references and against itself:
//  - the transformers MiniMax fixtures (tests/fixtures/minimax) on the GPU, FP32 trunk within
//    the CPU's tolerance (1e-4), the bf16 trunk against the CPU model's bf16 mode;
//  - train-vs-generation agreement on the GPU (the MiniMax-M1 precision signal): tokens
//    sampled from decoding-time logits, their log-probs recomputed by a training forward,
//    compared by the Pearson correlation of the probabilities and max/mean |Δ|, for a bf16
//    LM head and for the FP32 head, its bf16x3 GEMMs and plain FP32 GEMMs (the lightning
//    state is FP32 in all).
#include <gtest/gtest.h>

#include <cstring>

#include "model/checkpoint.h"
#include "model/cuda/model.h"
#include "model/cuda/test_util.h"
#include "model/safetensors.h"
#include "model/sampler.h"

namespace lightrl::model {
namespace {

using testing::MaxAbsDiff;

std::unique_ptr<CudaModel> GpuCopy(
    const Model& cpu, const Precision& precision,
    kernels::cuda::GemmPrecision fp32_head_gemm = kernels::cuda::GemmPrecision::kBf16x3) {
  CudaModelOptions options;
  options.precision = precision;
  options.fp32_head_gemm = fp32_head_gemm;
  auto gpu = CudaModel::Create(cpu.config(), options);
  CHECK_OK(gpu.status());
  std::memcpy((*gpu)->host_params().data(), cpu.params().data(),
              cpu.params().size() * sizeof(float));
  (*gpu)->UploadParams();
  return std::move(*gpu);
}

class CudaFixtureTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { LIGHTRL_REQUIRE_GPU(); }
};

TEST_P(CudaFixtureTest, MatchesTransformersOnTheGpu) {
  const std::string dir = testing::SourceDir() + "/tests/fixtures/minimax/" + GetParam();
  auto cpu = LoadModel(dir);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  const ModelConfig& config = (*cpu)->config();
  auto file = SafetensorsFile::Read(dir + "/expected.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  const TensorEntry* ids = file->Find("input_ids");
  ASSERT_NE(ids, nullptr);
  const int64_t batch_size = ids->shape[0], length = ids->shape[1];
  std::vector<int64_t> input_ids(batch_size * length);
  ASSERT_TRUE(file->ReadInt64s("input_ids", {batch_size, length}, input_ids.data()).ok());
  std::vector<float> expected(batch_size * length * config.vocab_size);
  ASSERT_TRUE(
      file->ReadFloats("logits", {batch_size, length, config.vocab_size}, expected.data()).ok());
  std::vector<float> last_hidden(batch_size * length * config.hidden_size);
  ASSERT_TRUE(file->ReadFloats("hidden." + std::to_string(config.num_hidden_layers),
                               {batch_size, length, config.hidden_size}, last_hidden.data())
                  .ok());
  PackedBatch batch;
  for (int64_t b = 0; b < batch_size; ++b) {
    batch.Append(
        std::vector<int32_t>(input_ids.begin() + b * length, input_ids.begin() + (b + 1) * length));
  }
  for (const bool bf16 : {false, true}) {
    auto gpu = GpuCopy(**cpu, {.bf16_gemm = bf16});
    std::vector<std::vector<float>> hidden;
    auto logits = gpu->Logits(batch, &hidden);
    ASSERT_TRUE(logits.ok()) << logits.status();
    const double diff = MaxAbsDiff(*logits, expected);
    const double hidden_diff = MaxAbsDiff(hidden.back(), last_hidden);
    std::printf("%s on the GPU, %s trunk: max |logit - transformers| = %.3g, last hidden %.3g\n",
                GetParam().c_str(), bf16 ? "bf16" : "FP32", diff, hidden_diff);
    RecordProperty(bf16 ? "bf16_max_abs_logit_error" : "fp32_max_abs_logit_error",
                   std::to_string(diff));
    if (bf16) {
      // Against transformers (FP32) a bf16 trunk can flip a near-tied MoE routing choice and
      // move a few logits by O(1); the CPU model in its bf16 mode rounds at the same points,
      // so the GPU must match it up to accumulation order.
      (*cpu)->set_precision({.bf16_gemm = true});
      auto cpu_logits = (*cpu)->Logits(batch);
      (*cpu)->set_precision({});
      ASSERT_TRUE(cpu_logits.ok()) << cpu_logits.status();
      const double cpu_diff = MaxAbsDiff(*logits, *cpu_logits);
      std::printf("%s on the GPU, bf16 trunk: max |logit - CPU bf16 mode| = %.3g\n",
                  GetParam().c_str(), cpu_diff);
      EXPECT_LT(cpu_diff, 0.05) << "bf16 trunk far from the CPU bf16 mode";
    } else {
      EXPECT_LE(diff, 1e-4);
      EXPECT_LE(hidden_diff, 1e-4);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaFixtureTest,
                         ::testing::Values("hybrid_moe", "lightning_only", "alpha_beta_mix"));

// A model with peaked next-token distributions: 4 layers (3 lightning, 1 softmax), 4k vocab.
ModelConfig AgreementConfig() {
  ModelConfig c;
  c.vocab_size = 4096;
  c.hidden_size = 256;
  c.intermediate_size = 256;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.layer_types = {AttentionType::kLightning, AttentionType::kLightning, AttentionType::kSoftmax,
                   AttentionType::kLightning};
  c.block_size = 64;
  c.rope_theta = 1e4;
  c.rotary_dim = 64;
  c.max_position_embeddings = 1024;
  c.num_local_experts = 4;
  c.num_experts_per_tok = 2;
  return c;
}

struct Generated {
  PackedBatch batch;                  // prompts + completions, mask on completions
  std::vector<float> model_logprobs;  // per completion token, in batch order
};

// Samples `tokens` tokens after each prompt at temperature 1 from decoding-time logits.
Generated Generate(CudaModel* gpu, int sequences, int prompt_len, int tokens) {
  const int vocab = gpu->config().vocab_size;
  CHECK_OK(gpu->ReserveDecoding(sequences, prompt_len + tokens));
  std::mt19937 rng(99);
  std::vector<PrefillRequest> requests;
  for (int s = 0; s < sequences; ++s) {
    std::vector<int32_t> prompt(prompt_len);
    for (int32_t& t : prompt) t = static_cast<int32_t>(rng() % vocab);
    requests.push_back({s, prompt});
  }
  std::vector<float> logits(static_cast<size_t>(sequences) * vocab);
  CHECK_OK(gpu->Prefill(requests, logits.data()));
  std::vector<std::vector<int32_t>> completions(sequences);
  std::vector<std::vector<float>> logprobs(sequences);
  std::vector<int32_t> slots(sequences), next(sequences);
  for (int s = 0; s < sequences; ++s) slots[s] = s;
  const kernels::LmHeadOptions head;
  SamplingParams params;
  params.temperature = 1.0;
  for (int step = 0; step < tokens; ++step) {
    for (int s = 0; s < sequences; ++s) {
      const SampledToken t = SampleToken(logits.data() + static_cast<size_t>(s) * vocab, vocab,
                                         params, SampleUniform(1000 + s, step), head);
      next[s] = t.token;
      completions[s].push_back(t.token);
      logprobs[s].push_back(t.model_logprob);
    }
    if (step + 1 < tokens) CHECK_OK(gpu->DecodeStep(next, slots, logits.data()));
  }
  Generated out;
  for (int s = 0; s < sequences; ++s) {
    std::vector<int32_t> seq = requests[s].prompt;
    seq.insert(seq.end(), completions[s].begin(), completions[s].end());
    std::vector<uint8_t> mask(seq.size(), 0);
    std::fill(mask.begin() + prompt_len, mask.end(), 1);
    out.batch.Append(seq, mask);
    out.model_logprobs.insert(out.model_logprobs.end(), logprobs[s].begin(), logprobs[s].end());
  }
  return out;
}

std::vector<float> Recompute(CudaModel* gpu, const PackedBatch& batch) {
  auto out = gpu->Forward(batch, {.keep_activations = false});
  CHECK_OK(out.status());
  std::vector<float> masked;
  for (int j = 0; j < batch.num_tokens(); ++j) {
    if (batch.loss_mask[j]) masked.push_back(out->logprobs[j]);
  }
  return masked;
}

TEST(CudaAgreementTest, TrainingRecomputeMatchesGenerationLogprobs) {
  LIGHTRL_REQUIRE_GPU();
  const ModelConfig config = AgreementConfig();
  auto cpu = Model::Create(config);
  ASSERT_TRUE(cpu.ok());
  testing::FanInInit(&(*cpu)->params(), 41, /*head_scale=*/6.0);
  constexpr auto kPlainFp32 = kernels::cuda::GemmPrecision::kFp32;
  struct Row {
    const char* name;
    Precision rollout, learner;
    kernels::cuda::GemmPrecision fp32_head_gemm = kernels::cuda::GemmPrecision::kBf16x3;
  };
  const Row rows[] = {
      {"(a) bf16 LM head on both sides",
       {.bf16_gemm = true, .bf16_lm_head = true},
       {.bf16_gemm = true, .bf16_lm_head = true}},
      {"(a') bf16 head rollout, FP32 head learner",
       {.bf16_gemm = true, .bf16_lm_head = true},
       {.bf16_gemm = true}},
      {"(b) FP32 LM head + FP32 lightning state", {.bf16_gemm = true}, {.bf16_gemm = true}},
      {"(b') (b) with plain FP32 head GEMMs", {.bf16_gemm = true}, {.bf16_gemm = true}, kPlainFp32},
      {"(c) FP32 trunk and head", {}, {}},
      {"(c') (c) with plain FP32 head GEMMs", {}, {}, kPlainFp32},
  };
  std::printf("%-44s %7s %10s %10s %10s %12s\n", "case (GPU)", "tokens", "pearson", "mean|dp|",
              "max|dp|", "max|dlogp|");
  double fp32_head_pearson = 0;
  for (const Row& row : rows) {
    auto rollout = GpuCopy(**cpu, row.rollout, row.fp32_head_gemm);
    auto learner = GpuCopy(**cpu, row.learner, row.fp32_head_gemm);
    const Generated generated = Generate(rollout.get(), 32, 16, 96);
    const std::vector<float> recomputed = Recompute(learner.get(), generated.batch);
    ASSERT_EQ(recomputed.size(), generated.model_logprobs.size());
    const testing::Agreement a = testing::Compare(recomputed, generated.model_logprobs);
    std::printf("%-44s %7d %10.6f %10.3g %10.3g %12.3g\n", row.name, a.tokens, a.pearson,
                a.mean_abs, a.max_abs, a.max_abs_logprob);
    RecordProperty(row.name, std::to_string(a.pearson));
    if (std::string(row.name).starts_with("(b)")) fp32_head_pearson = a.pearson;  // bf16x3
    EXPECT_GT(a.pearson, 0.9) << row.name;
  }
  EXPECT_GE(fp32_head_pearson, 0.999);
}

}  // namespace
}  // namespace lightrl::model
