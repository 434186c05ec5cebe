#include "learner/precision_signal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace lightrl {
namespace {

TEST(PrecisionSignalTest, IdenticalLogProbsCorrelatePerfectly) {
  std::vector<float> a = {-0.1f, -2.0f, -0.7f, -5.0f};
  PrecisionSignal s = ComparePrecision(a, a);
  EXPECT_EQ(s.tokens, 4);
  EXPECT_DOUBLE_EQ(s.pearson, 1.0);
  EXPECT_EQ(s.max_abs_delta, 0.0);
  EXPECT_EQ(s.max_abs_logprob_delta, 0.0);
}

TEST(PrecisionSignalTest, MatchesAHandComputedExample) {
  // Probabilities 0.5, 0.25 vs 0.5, 0.5: deltas 0 and 0.25.
  std::vector<float> train = {std::log(0.5f), std::log(0.25f)};
  std::vector<float> rollout = {std::log(0.5f), std::log(0.5f)};
  PrecisionSignal s = ComparePrecision(train, rollout);
  EXPECT_NEAR(s.mean_abs_delta, 0.125, 1e-7);
  EXPECT_NEAR(s.max_abs_delta, 0.25, 1e-7);
  EXPECT_NEAR(s.max_abs_logprob_delta, std::log(2.0), 1e-6);
  EXPECT_EQ(s.pearson, 0.0);  // No variance on the rollout side, values differ.
}

TEST(PrecisionSignalTest, NoiseLowersTheCorrelation) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-6.0f, 0.0f);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::vector<float> train(2000), small(2000), large(2000);
  for (size_t i = 0; i < train.size(); ++i) {
    train[i] = uniform(rng);
    small[i] = std::min(0.0f, train[i] + 0.1f * noise(rng));
    large[i] = std::min(0.0f, train[i] + 3.0f * noise(rng));
  }
  double close = ComparePrecision(train, small).pearson;
  double far = ComparePrecision(train, large).pearson;
  EXPECT_GT(close, 0.99);
  EXPECT_LT(far, close - 0.05);
}

}  // namespace
}  // namespace lightrl
