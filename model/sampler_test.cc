#include "model/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

namespace lightrl::model {
namespace {

const std::vector<float> kLogits = {0.5f, 2.0f, -1.0f, 1.5f, 0.0f, 1.9f, -3.0f};
const kernels::LmHeadOptions kHead{
    .row_tile = 4, .vocab_chunk = 3, .inv_temperature = 1.0, .gemm = {}};

double Prob(int i, double temperature) {
  double total = 0;
  for (float l : kLogits) total += std::exp(l / temperature);
  return std::exp(kLogits[i] / temperature) / total;
}

SampledToken Sample(const SamplingParams& params, double u) {
  std::vector<float> logits = kLogits;
  return SampleToken(logits.data(), static_cast<int>(logits.size()), params, u, kHead);
}

TEST(SamplerTest, UniformsArePureFunctionsOfSeedAndIndex) {
  EXPECT_EQ(SampleUniform(7, 3), SampleUniform(7, 3));
  EXPECT_NE(SampleUniform(7, 3), SampleUniform(7, 4));
  EXPECT_NE(SampleUniform(7, 3), SampleUniform(8, 3));
  double mean = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = SampleUniform(1, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    mean += u / 10000;
  }
  EXPECT_NEAR(mean, 0.5, 0.02);
}

TEST(SamplerTest, FullDistributionFollowsInverseCdfAndReportsExactLogProbs) {
  SamplingParams params;
  params.temperature = 0.7;
  // u just below the first cumulative step picks token 0; just above picks token 1.
  const double p0 = Prob(0, 0.7);
  EXPECT_EQ(Sample(params, p0 * 0.999).token, 0);
  EXPECT_EQ(Sample(params, p0 * 1.001).token, 1);
  const SampledToken s = Sample(params, 0.5);
  EXPECT_NEAR(s.logprob, std::log(Prob(s.token, 0.7)), 1e-6);
  EXPECT_EQ(s.logprob, s.model_logprob);
}

TEST(SamplerTest, TopKAndTopPRestrictAndRenormalize) {
  SamplingParams params;
  params.top_k = 3;  // tokens 1 (2.0), 5 (1.9), 3 (1.5)
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) {
    const SampledToken s = Sample(params, SampleUniform(3, i));
    seen.insert(s.token);
    const double mass = Prob(1, 1) + Prob(5, 1) + Prob(3, 1);
    EXPECT_NEAR(s.logprob, std::log(Prob(s.token, 1) / mass), 1e-6);
    EXPECT_NEAR(s.model_logprob, std::log(Prob(s.token, 1)), 1e-6);
  }
  EXPECT_EQ(seen, (std::set<int>{1, 3, 5}));
  params.top_k = 0;
  params.top_p = Prob(1, 1) + 1e-3;  // the smallest prefix reaching it: tokens 1 and 5
  seen.clear();
  for (int i = 0; i < 200; ++i) seen.insert(Sample(params, SampleUniform(4, i)).token);
  EXPECT_EQ(seen, (std::set<int>{1, 5}));
}

TEST(SamplerTest, GreedyAndTopOneAgree) {
  SamplingParams greedy;
  greedy.temperature = 0;
  const SampledToken g = Sample(greedy, 0.9);
  EXPECT_EQ(g.token, 1);
  EXPECT_EQ(g.logprob, 0.0f);
  EXPECT_NEAR(g.model_logprob, std::log(Prob(1, 1)), 1e-6);
  SamplingParams top1;
  top1.top_k = 1;
  EXPECT_EQ(Sample(top1, 0.9).token, 1);
  EXPECT_EQ(Sample(top1, 0.9).logprob, 0.0f);
}

TEST(SamplerTest, ValidatesParams) {
  auto bad = [](auto mutate) {
    SamplingParams p;
    mutate(p);
    return ValidateSamplingParams(p).code();
  };
  EXPECT_EQ(ValidateSamplingParams({}).code(), StatusCode::kOk);
  EXPECT_EQ(bad([](SamplingParams& p) { p.temperature = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](SamplingParams& p) { p.top_p = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](SamplingParams& p) { p.top_k = -2; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](SamplingParams& p) { p.max_tokens = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](SamplingParams& p) { p.repetition_p = 1.5; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](SamplingParams& p) { p.stop_strings = {""}; }), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightrl::model
