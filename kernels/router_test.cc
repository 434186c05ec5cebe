#include "kernels/router.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/gradient_check.h"

namespace lightrl::kernels {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::RandomVector;

constexpr int kRows = 6, kExperts = 5, kTopK = 2;

TEST(RouterTest, TopKIsSortedAndWeightsSumToOne) {
  const std::vector<double> logits = RandomVector(kRows * kExperts, 1, 2.0);
  std::vector<double> probs(logits.size()), weights(kRows * kTopK);
  std::vector<int32_t> idx(kRows * kTopK);
  RouterForward(logits.data(), kRows, kExperts, kTopK, probs.data(), idx.data(), weights.data());
  for (int r = 0; r < kRows; ++r) {
    double total = 0;
    for (int e = 0; e < kExperts; ++e) total += probs[r * kExperts + e];
    EXPECT_NEAR(total, 1.0, 1e-14);
    const int first = idx[r * kTopK], second = idx[r * kTopK + 1];
    EXPECT_NE(first, second);
    for (int e = 0; e < kExperts; ++e) {
      if (e != first) {
        EXPECT_GE(probs[r * kExperts + first], probs[r * kExperts + e]);
      }
      if (e != first && e != second) {
        EXPECT_GE(probs[r * kExperts + second], probs[r * kExperts + e]);
      }
    }
    EXPECT_NEAR(weights[r * kTopK] + weights[r * kTopK + 1], 1.0, 1e-15);
    EXPECT_NEAR(weights[r * kTopK] / weights[r * kTopK + 1],
                probs[r * kExperts + first] / probs[r * kExperts + second], 1e-12);
  }
}

TEST(RouterTest, FloatWeightsSumToOne) {
  const std::vector<double> d = RandomVector(64 * 8, 9, 3.0);
  const std::vector<float> logits(d.begin(), d.end());
  std::vector<float> probs(logits.size()), weights(64 * 3);
  std::vector<int32_t> idx(64 * 3);
  RouterForward(logits.data(), 64, 8, 3, probs.data(), idx.data(), weights.data());
  for (int r = 0; r < 64; ++r) {
    EXPECT_NEAR(weights[r * 3] + weights[r * 3 + 1] + weights[r * 3 + 2], 1.0f, 1e-6f);
  }
}

TEST(RouterTest, BackwardMatchesFiniteDifferences) {
  std::vector<double> logits = RandomVector(kRows * kExperts, 2, 2.0);
  const std::vector<double> r_w = RandomVector(kRows * kTopK, 3);
  const std::vector<double> r_p = RandomVector(kRows * kExperts, 4);
  std::vector<double> probs(logits.size()), weights(kRows * kTopK);
  std::vector<int32_t> idx(kRows * kTopK);
  RouterForward(logits.data(), kRows, kExperts, kTopK, probs.data(), idx.data(), weights.data());
  const std::vector<int32_t> fixed_idx = idx;
  // L = r_w · weights + r_p · probs, with the selection fixed (small steps keep it).
  auto loss = [&] {
    std::vector<double> p(logits.size()), w(kRows * kTopK);
    std::vector<int32_t> i(kRows * kTopK);
    RouterForward(logits.data(), kRows, kExperts, kTopK, p.data(), i.data(), w.data());
    EXPECT_EQ(i, fixed_idx);
    return Dot(w, r_w) + Dot(p, r_p);
  };
  std::vector<double> dlogits(logits.size());
  RouterBackward(probs.data(), idx.data(), weights.data(), r_w.data(), r_p.data(), kRows, kExperts,
                 kTopK, dlogits.data());
  EXPECT_TRUE(CheckGradient(&logits, dlogits, loss).Passes());
}

TEST(RouterTest, AuxLossIsTopKForUniformRoutingAndItsGradientMatches) {
  const double routed[] = {2, 2, 2, 2}, prob_sum[] = {1, 1, 1, 1};
  // 4 rows, 4 experts, top-2, uniform probabilities: the loss equals top_k.
  EXPECT_NEAR(RouterAuxLoss(routed, prob_sum, 4, 4), 2.0, 1e-15);
  // Gradient w.r.t. prob_sum[e] (through p[row, e]) by finite differences.
  const double skewed_routed[] = {5, 1, 1, 1};
  std::vector<double> sums = {1.5, 0.5, 1.0, 1.0}, grad(4);
  RouterAuxLossGradient(skewed_routed, 4, 4, grad.data());
  auto loss = [&] { return RouterAuxLoss(skewed_routed, sums.data(), 4, 4); };
  EXPECT_TRUE(CheckGradient(&sums, grad, loss).Passes());
}

TEST(RouterTest, AccumulatedStatsCountEverySlot) {
  const std::vector<double> logits = RandomVector(kRows * kExperts, 5);
  std::vector<double> probs(logits.size()), weights(kRows * kTopK);
  std::vector<int32_t> idx(kRows * kTopK);
  RouterForward(logits.data(), kRows, kExperts, kTopK, probs.data(), idx.data(), weights.data());
  std::vector<double> routed(kExperts, 0), prob_sum(kExperts, 0);
  RouterAccumulateStats(probs.data(), idx.data(), kRows, kExperts, kTopK, routed.data(),
                        prob_sum.data());
  double total_routed = 0, total_prob = 0;
  for (int e = 0; e < kExperts; ++e) {
    total_routed += routed[e];
    total_prob += prob_sum[e];
  }
  EXPECT_EQ(total_routed, kRows * kTopK);
  EXPECT_NEAR(total_prob, kRows, 1e-12);
}

}  // namespace
}  // namespace lightrl::kernels
