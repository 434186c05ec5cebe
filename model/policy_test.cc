// The backend-neutral policy: configuration parsing, and the CPU and CUDA backends giving the
// same outputs through the same calls (the CUDA half skips without a GPU).
#include "model/policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

#include "model/generator.h"
#include "model/policy_test_util.h"
#include "model/test_configs.h"

namespace lightrl::model {
namespace {

using testing::CudaPolicyOrSkipReason;

StatusOr<PolicyOptions> Parse(const std::string& yaml) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadString(yaml, "run.yaml"));
  ASSIGN_OR_RETURN(ConfigNode node, root.OptionalChild("model"));
  PolicyOptions options;
  RETURN_IF_ERROR(ParsePolicyOptions(node, &options));
  return options;
}

TEST(PolicyOptionsTest, ParsesBackendDeviceAndPrecision) {
  auto defaults = Parse("other: 1\n");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->backend, Backend::kCpu);
  EXPECT_FALSE(defaults->precision.has_value());
  auto cuda = Parse("model:\n  backend: cuda\n  device: 1\n  bf16_lm_head: true\n");
  ASSERT_TRUE(cuda.ok()) << cuda.status();
  EXPECT_EQ(cuda->backend, Backend::kCuda);
  EXPECT_EQ(cuda->device, 1);
  ASSERT_TRUE(cuda->precision.has_value());
  EXPECT_TRUE(cuda->precision->bf16_gemm);  // the cuda default, kept
  EXPECT_TRUE(cuda->precision->bf16_lm_head);
  EXPECT_FALSE(cuda->plain_fp32_head_gemm);
  auto plain = Parse("model:\n  backend: cuda\n  fp32_head_gemm: fp32\n");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE(plain->plain_fp32_head_gemm);
  auto bad_gemm = Parse("model:\n  fp32_head_gemm: tf32\n");
  ASSERT_FALSE(bad_gemm.ok());
  EXPECT_NE(bad_gemm.status().message().find("model.fp32_head_gemm"), std::string::npos)
      << bad_gemm.status();
}

TEST(PolicyOptionsTest, BadValuesNameTheKey) {
  auto bad_backend = Parse("model:\n  backend: tpu\n");
  ASSERT_FALSE(bad_backend.ok());
  EXPECT_NE(bad_backend.status().message().find("model.backend"), std::string::npos)
      << bad_backend.status();
  auto unknown = Parse("model:\n  backnd: cuda\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("backnd"), std::string::npos) << unknown.status();
  EXPECT_FALSE(Parse("model:\n  device: -1\n").ok());
}

PackedBatch Batch() { return testing::RandomBatch({9, 14}, 2, 11, 3); }

TEST(PolicyTest, CpuPolicyIsTheCpuModel) {
  const ModelConfig config = testing::TinyHybridConfig();
  auto policy = CreatePolicy(config, {});
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->backend(), Backend::kCpu);
  (*policy)->InitializeRandom(7);
  auto model = testing::MakeModel(config, 7);
  auto a = (*policy)->Forward(Batch());
  auto b = model->Forward(Batch());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->logprobs, b->logprobs);
  ASSERT_TRUE((*policy)->ReserveDecoding(2, 16).ok());
  std::vector<float> logits(config.vocab_size);
  const std::vector<PrefillRequest> requests = {{1, {1, 2, 3}}};
  ASSERT_TRUE((*policy)->Prefill(requests, logits.data()).ok());
  PackedBatch prompt;
  prompt.Append({1, 2, 3});
  auto full = model->Logits(prompt);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(logits, std::vector<float>(full->end() - config.vocab_size, full->end()));
  EXPECT_EQ((*policy)->Prefill(std::vector<PrefillRequest>{{2, {1}}}, nullptr).code(),
            StatusCode::kInvalidArgument);
}

// Trains two steps, snapshots (weights, optimizer), trains a third; a second policy of the
// same backend restored from the snapshot must take the identical third step.
void ExpectOptimizerStateRoundTrips(Policy& first, Policy& second) {
  const PackedBatch batch = Batch();
  auto step = [&](Policy& p) {
    auto out = p.Forward(batch);
    ASSERT_TRUE(out.ok()) << out.status();
    p.ZeroGrad();
    std::vector<float> d(batch.num_tokens(), -0.1f);
    ASSERT_TRUE(p.Backward(d).ok());
    p.ClipAndStep(1.0);
  };
  first.InitializeRandom(5);
  step(first);
  step(first);
  const ParamArena<float> weights = first.params();
  const AdamW optimizer = first.SaveOptimizerState();
  EXPECT_EQ(optimizer.step(), 2);
  step(first);
  second.InitializeRandom(6);  // other weights, no optimizer history
  second.params() = weights;
  second.ParamsChanged();
  second.RestoreOptimizerState(optimizer);
  EXPECT_EQ(second.optimizer_step(), 2);
  step(second);
  const ParamArena<float>& a = first.params();
  const ParamArena<float>& b = second.params();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
      << "the restored optimizer took another step";
}

TEST(PolicyTest, CpuOptimizerStateRoundTrips) {
  const ModelConfig config = testing::TinyHybridConfig();
  auto first = CreatePolicy(config, {});
  auto second = CreatePolicy(config, {});
  ASSERT_TRUE(first.ok() && second.ok());
  ExpectOptimizerStateRoundTrips(**first, **second);
}

// A CUDA policy, or the reason there is none (GTEST_SKIP with it). Checks that a build
// without CUDA or a machine without a GPU gives FailedPrecondition.
TEST(PolicyTest, CudaBackendNeedsABuildWithCudaAndAGpu) {
  const ModelConfig config = testing::TinyHybridConfig();
  std::string skip;
  // FP32 on the GPU too, for a tight comparison.
  auto policy = CudaPolicyOrSkipReason(config, Precision{}, &skip);
  if (policy == nullptr) GTEST_SKIP() << skip;
  auto cpu = CreatePolicy(config, {});
  ASSERT_TRUE(cpu.ok());
  (*cpu)->InitializeRandom(3);
  policy->InitializeRandom(3);
  const PackedBatch batch = Batch();
  for (int step = 0; step < 2; ++step) {
    for (Policy* p : {cpu->get(), policy.get()}) {
      auto out = p->Forward(batch);
      ASSERT_TRUE(out.ok()) << out.status();
      p->ZeroGrad();
      std::vector<float> d(batch.num_tokens(), -0.1f);
      ASSERT_TRUE(p->Backward(d).ok());
      p->ClipAndStep(1.0);
    }
  }
  double worst = 0;
  const ParamArena<float>& a = (*cpu)->params();
  const ParamArena<float>& b = policy->params();
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, double(std::abs(a.data()[i] - b.data()[i])));
  EXPECT_LT(worst, 1e-4);
  auto x = (*cpu)->Forward(batch, {.keep_activations = false});
  auto y = policy->Forward(batch, {.keep_activations = false});
  ASSERT_TRUE(x.ok() && y.ok());
  for (size_t j = 0; j < x->logprobs.size(); ++j) EXPECT_NEAR(x->logprobs[j], y->logprobs[j], 1e-4);
}

TEST(PolicyTest, CudaOptimizerStateRoundTrips) {
  const ModelConfig config = testing::TinyHybridConfig();
  std::string skip;
  auto first = CudaPolicyOrSkipReason(config, std::nullopt, &skip);
  if (first == nullptr) GTEST_SKIP() << skip;
  auto second = CudaPolicyOrSkipReason(config, std::nullopt, &skip);
  ASSERT_NE(second, nullptr);
  ExpectOptimizerStateRoundTrips(*first, *second);
}

// The generator on a GPU policy, driven from another thread than the one that created it
// (as the rollout node does): its log-probs match a training forward of the same policy.
TEST(PolicyTest, GeneratorRunsOnTheCudaPolicy) {
  ModelConfig config = testing::TinyHybridConfig();
  config.max_position_embeddings = 64;
  std::string skip;
  auto policy = CudaPolicyOrSkipReason(config, Precision{}, &skip);
  if (policy == nullptr) GTEST_SKIP() << skip;
  policy->InitializeRandom(9);
  std::map<uint64_t, std::vector<int32_t>> prompts, tokens;
  std::map<uint64_t, std::vector<float>> logprobs;
  Status generated;
  std::thread worker([&] {
    auto generator = Generator::Create(policy.get(), {.max_batch = 3, .eos_token_id = -1});
    if (!generator.ok()) {
      generated = generator.status();
      return;
    }
    for (uint64_t id = 0; id < 5; ++id) {  // more requests than slots: slots are reused
      SamplingParams params;
      params.max_tokens = 4 + static_cast<int>(id);
      params.seed = id;
      std::vector<int32_t> prompt;
      for (int t = 0; t < 3 + static_cast<int>(id); ++t) {
        prompt.push_back(static_cast<int32_t>((t * 5 + id) % config.vocab_size));
      }
      prompts[id] = prompt;
      generated = (*generator)->Add({id, prompt, params});
      if (!generated.ok()) return;
    }
    while ((*generator)->active() + (*generator)->queued() > 0) {
      auto step = (*generator)->Step();
      if (!step.ok()) {
        generated = step.status();
        return;
      }
      for (const StepOutput& out : *step) {
        tokens[out.id].push_back(out.token);
        logprobs[out.id].push_back(out.model_logprob);
      }
    }
  });
  worker.join();
  ASSERT_TRUE(generated.ok()) << generated;
  ASSERT_EQ(tokens.size(), 5u);
  std::vector<std::vector<int32_t>> prompt_list, completion_list;
  for (const auto& [id, completion] : tokens) {
    EXPECT_EQ(completion.size(), 4 + id);
    prompt_list.push_back(prompts[id]);
    completion_list.push_back(completion);
  }
  const PackedBatch batch = testing::PromptCompletionBatch(prompt_list, completion_list);
  auto recompute = policy->Forward(batch, {.keep_activations = false});
  ASSERT_TRUE(recompute.ok()) << recompute.status();
  size_t s = 0;
  double worst = 0;
  for (const auto& [id, completion] : tokens) {
    const int start = batch.seq_offsets[s++] + static_cast<int>(prompts[id].size());
    for (size_t t = 0; t < completion.size(); ++t) {
      worst = std::max(worst, std::abs(double(logprobs[id][t]) - recompute->logprobs[start + t]));
    }
  }
  EXPECT_LT(worst, 1e-4) << "generation and the training forward disagree on the GPU";
}

}  // namespace
}  // namespace lightrl::model
