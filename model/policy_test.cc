// The backend-neutral policy: configuration parsing, and the CPU and CUDA backends giving the
// same outputs through the same calls (the CUDA half skips without a GPU).
#include "model/policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "model/test_configs.h"

#if LIGHTRL_WITH_CUDA
#include "kernels/cuda/device.h"
#endif

namespace lightrl::model {
namespace {

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

TEST(PolicyTest, CudaBackendNeedsABuildWithCudaAndAGpu) {
  const ModelConfig config = testing::TinyHybridConfig();
  PolicyOptions options;
  options.backend = Backend::kCuda;
  auto policy = CreatePolicy(config, options);
  if (!CudaBackendBuilt()) {
    EXPECT_EQ(policy.status().code(), StatusCode::kFailedPrecondition);
    GTEST_SKIP() << "built without CUDA: " << policy.status();
  }
#if LIGHTRL_WITH_CUDA
  std::string why;
  if (kernels::cuda::DeviceCount(&why) == 0) {
    EXPECT_EQ(policy.status().code(), StatusCode::kFailedPrecondition) << policy.status();
    GTEST_SKIP() << "no CUDA device (" << why << "): " << policy.status();
  }
#endif
  ASSERT_TRUE(policy.ok()) << policy.status();
  PolicyOptions cpu_options;
  auto cpu = CreatePolicy(config, cpu_options);
  ASSERT_TRUE(cpu.ok());
  options.precision = Precision{};  // FP32 on the GPU too, for a tight comparison
  policy = CreatePolicy(config, options);
  ASSERT_TRUE(policy.ok());
  (*cpu)->InitializeRandom(3);
  (*policy)->InitializeRandom(3);
  const PackedBatch batch = Batch();
  for (int step = 0; step < 2; ++step) {
    for (Policy* p : {cpu->get(), policy->get()}) {
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
  const ParamArena<float>& b = (*policy)->params();
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, double(std::abs(a.data()[i] - b.data()[i])));
  EXPECT_LT(worst, 1e-4);
  auto x = (*cpu)->Forward(batch, {.keep_activations = false});
  auto y = (*policy)->Forward(batch, {.keep_activations = false});
  ASSERT_TRUE(x.ok() && y.ok());
  for (size_t j = 0; j < x->logprobs.size(); ++j) EXPECT_NEAR(x->logprobs[j], y->logprobs[j], 1e-4);
}

}  // namespace
}  // namespace lightrl::model
