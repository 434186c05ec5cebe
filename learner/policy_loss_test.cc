#include "learner/policy_loss.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace lightrl {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;

// Two sequences: tokens 0-2 with Â = +1, tokens 3-4 with Â = −0.5. The anchor is log 1, so
// each token's ratio is exp(logp): 1.0, 1.5, 0.5 | 1.1, 0.7.
class PolicyLossTest : public ::testing::Test {
 protected:
  PolicyLossTest() {
    for (double r : {1.0, 1.5, 0.5, 1.1, 0.7}) logprobs_.push_back(static_cast<float>(std::log(r)));
    anchor_.assign(5, 0.0f);
    inputs_.logprobs = logprobs_;
    inputs_.anchor_logprobs = anchor_;
    inputs_.sequences = {{0, 3, 1.0}, {3, 5, -0.5}};
  }

  PolicyLossResult Run(const PolicyLossConfig& config) {
    auto result = ComputePolicyLoss(config, inputs_);
    EXPECT_TRUE(result.ok()) << result.status();
    return *result;
  }

  std::vector<float> logprobs_, anchor_;
  PolicyLossInputs inputs_;
};

constexpr float kTol = 1e-6f;

TEST_F(PolicyLossTest, CispoClampsTheWeightButKeepsEveryTokensGradient) {
  PolicyLossConfig config;  // ε_low = 1 (no lower bound)
  config.eps_high = 0.2;    // weight ≤ 1.2
  PolicyLossResult r = Run(config);
  // −clip(r)·Â / 5 tokens.
  EXPECT_THAT(r.dlogprob,
              ElementsAre(FloatNear(-0.2f, kTol), FloatNear(-0.24f, kTol), FloatNear(-0.1f, kTol),
                          FloatNear(0.11f, kTol), FloatNear(0.07f, kTol)));
  EXPECT_DOUBLE_EQ(r.clip_fraction, 0.2);  // Only token 1 (ratio 1.5).
  EXPECT_NEAR(r.is_weight_mean, (1 + 1.2 + 0.5 + 1.1 + 0.7) / 5, 1e-6);
}

TEST_F(PolicyLossTest, GrpoZeroesClippedTokensAndAveragesPerSequence) {
  PolicyLossConfig config;
  config.algorithm = PolicyAlgorithm::kGrpo;
  config.normalization = LossNormalization::kSequence;
  config.eps_low = config.eps_high = 0.2;
  PolicyLossResult r = Run(config);
  // Sequence 0 divides by 3 tokens × 2 sequences, sequence 1 by 2 × 2. Token 1 (r=1.5, Â>0)
  // and token 4 (r=0.7, Â<0) sit on the clipped branch: zero gradient where CISPO kept one.
  EXPECT_THAT(r.dlogprob, ElementsAre(FloatNear(-1.0f / 6, kTol), FloatNear(0.0f, kTol),
                                      FloatNear(-0.5f / 6, kTol), FloatNear(0.55f / 4, kTol),
                                      FloatNear(0.0f, kTol)));
  EXPECT_DOUBLE_EQ(r.clip_fraction, 0.4);
}

TEST_F(PolicyLossTest, DapoUsesClipHigherAndTokenLevelNormalization) {
  PolicyLossConfig config;
  config.algorithm = PolicyAlgorithm::kDapo;
  config.eps_low = 0.2;
  config.eps_high = 0.28;
  PolicyLossResult r = Run(config);
  EXPECT_THAT(r.dlogprob,
              ElementsAre(FloatNear(-0.2f, kTol), FloatNear(0.0f, kTol), FloatNear(-0.1f, kTol),
                          FloatNear(0.11f, kTol), FloatNear(0.0f, kTol)));
  // A ratio of 1.25 is inside DAPO's clip-higher band but outside GRPO's.
  logprobs_[1] = static_cast<float>(std::log(1.25));
  r = Run(config);
  EXPECT_NEAR(r.dlogprob[1], -1.25f / 5, kTol);
}

TEST_F(PolicyLossTest, UnifiedMaskDropsTheTokensPpoWouldDrop) {
  PolicyLossConfig config;
  config.eps_high = 4.0;  // IS weight up to 5: no clamp here.
  config.unified_mask = true;
  config.mask_eps_low = 0.2;
  config.mask_eps_high = 0.28;
  PolicyLossResult r = Run(config);
  EXPECT_THAT(r.dlogprob,
              ElementsAre(FloatNear(-0.2f, kTol), FloatNear(0.0f, kTol), FloatNear(-0.1f, kTol),
                          FloatNear(0.11f, kTol), FloatNear(0.0f, kTol)));
  EXPECT_DOUBLE_EQ(r.masked_fraction, 0.4);
}

TEST_F(PolicyLossTest, ReinforceIgnoresTheRatio) {
  PolicyLossConfig config;
  config.algorithm = PolicyAlgorithm::kReinforce;
  PolicyLossResult r = Run(config);
  EXPECT_THAT(r.dlogprob,
              ElementsAre(FloatNear(-0.2f, kTol), FloatNear(-0.2f, kTol), FloatNear(-0.2f, kTol),
                          FloatNear(0.1f, kTol), FloatNear(0.1f, kTol)));
}

TEST_F(PolicyLossTest, TokenAndSequenceNormalizationDiffer) {
  PolicyLossConfig config;
  config.algorithm = PolicyAlgorithm::kReinforce;
  config.normalization = LossNormalization::kSequence;
  PolicyLossResult r = Run(config);
  // Per-sequence mean, then mean over 2 sequences: −1/(3·2) and +0.5/(2·2).
  EXPECT_THAT(r.dlogprob, ElementsAre(FloatNear(-1.0f / 6, kTol), FloatNear(-1.0f / 6, kTol),
                                      FloatNear(-1.0f / 6, kTol), FloatNear(0.125f, kTol),
                                      FloatNear(0.125f, kTol)));
}

TEST_F(PolicyLossTest, TruncatedImportanceSamplingScalesByTheCappedRatio) {
  PolicyLossConfig config;
  config.algorithm = PolicyAlgorithm::kReinforce;
  config.tis_cap = 2.0;
  // π_old/π_behaviour = 3 for token 0 (capped to 2) and 0.5 for token 3.
  std::vector<float> behaviour = {static_cast<float>(-std::log(3.0)), 0, 0,
                                  static_cast<float>(std::log(2.0)), 0};
  inputs_.behaviour_logprobs = behaviour;
  PolicyLossResult r = Run(config);
  EXPECT_NEAR(r.dlogprob[0], -0.4f, kTol);
  EXPECT_NEAR(r.dlogprob[1], -0.2f, kTol);
  EXPECT_NEAR(r.dlogprob[3], 0.05f, kTol);
  EXPECT_NEAR(r.tis_weight_mean, (2 + 1 + 1 + 0.5 + 1) / 5.0, 1e-6);
}

TEST_F(PolicyLossTest, KlGradientMatchesFiniteDifferencesOfTheLoss) {
  PolicyLossConfig config;
  config.algorithm = PolicyAlgorithm::kReinforce;
  config.kl_coef = 0.3;
  inputs_.sequences = {{0, 3, 0.0}, {3, 5, 0.0}};  // KL only.
  std::vector<float> ref = {-0.2f, 0.1f, -0.5f, 0.3f, 0.0f};
  inputs_.ref_logprobs = ref;
  PolicyLossResult r = Run(config);
  for (int t = 0; t < 5; ++t) {
    const float h = 1e-3f;
    float saved = logprobs_[t];
    logprobs_[t] = saved + h;
    double plus = Run(config).loss;
    logprobs_[t] = saved - h;
    double minus = Run(config).loss;
    logprobs_[t] = saved;
    EXPECT_NEAR(r.dlogprob[t], (plus - minus) / (2 * h), 2e-4) << "token " << t;
  }
  EXPECT_GT(r.kl_mean, 0);
}

TEST_F(PolicyLossTest, BadInputsAreErrors) {
  PolicyLossConfig config;
  inputs_.sequences = {{3, 6, 1.0}};
  EXPECT_EQ(ComputePolicyLoss(config, inputs_).status().code(), StatusCode::kInvalidArgument);
  inputs_.sequences = {{0, 5, 1.0}};
  config.tis_cap = 2;
  EXPECT_EQ(ComputePolicyLoss(config, inputs_).status().code(), StatusCode::kInvalidArgument);
}

TEST(GroupAdvantagesTest, NormalizesBySampleStdAndSkipsZeroVariance) {
  std::vector<double> advantages;
  std::vector<double> rewards = {1, 0, 0, 1};
  ASSERT_TRUE(GroupAdvantages(rewards, true, &advantages));
  double expected = 0.5 / std::sqrt(1.0 / 3.0);
  EXPECT_THAT(
      advantages,
      ElementsAre(testing::DoubleNear(expected, 1e-5), testing::DoubleNear(-expected, 1e-5),
                  testing::DoubleNear(-expected, 1e-5), testing::DoubleNear(expected, 1e-5)));
  ASSERT_TRUE(GroupAdvantages(rewards, false, &advantages));
  EXPECT_THAT(advantages, ElementsAre(0.5, -0.5, -0.5, 0.5));
  std::vector<double> flat = {1, 1, 1};
  EXPECT_FALSE(GroupAdvantages(flat, true, &advantages));
  EXPECT_THAT(advantages, ElementsAre(0, 0, 0));
}

TEST(OverlongPenaltyTest, FallsLinearlyInsideTheCache) {
  EXPECT_EQ(OverlongPenalty(80, 100, 20), 0.0);
  EXPECT_EQ(OverlongPenalty(90, 100, 20), -0.5);
  EXPECT_EQ(OverlongPenalty(100, 100, 20), -1.0);
  EXPECT_EQ(OverlongPenalty(120, 100, 20), -1.0);
}

TEST(PolicyLossConfigTest, AlgorithmBringsItsDefaultsAndKeysOverride) {
  auto root = ConfigNode::LoadString("loss:\n  algorithm: dapo\n", "run.yaml");
  PolicyLossConfig config;
  ASSERT_TRUE(ParsePolicyLossConfig(*root->Child("loss"), &config).ok());
  EXPECT_EQ(config.algorithm, PolicyAlgorithm::kDapo);
  EXPECT_EQ(config.eps_low, 0.2);
  EXPECT_EQ(config.eps_high, 0.28);
  EXPECT_EQ(config.normalization, LossNormalization::kToken);
  root = ConfigNode::LoadString("loss:\n  algorithm: grpo\n  eps_high: 0.3\n", "run.yaml");
  ASSERT_TRUE(ParsePolicyLossConfig(*root->Child("loss"), &config).ok());
  EXPECT_EQ(config.normalization, LossNormalization::kSequence);
  EXPECT_EQ(config.eps_high, 0.3);
  root = ConfigNode::LoadString("loss:\n  algorithm: grpo\n  unified_mask: true\n", "run.yaml");
  EXPECT_EQ(ParsePolicyLossConfig(*root->Child("loss"), &config).message(),
            "run.yaml: loss.unified_mask: applies to the cispo algorithm only");
}

}  // namespace
}  // namespace lightrl
