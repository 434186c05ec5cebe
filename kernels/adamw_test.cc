#include "kernels/adamw.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace lightrl::kernels {
namespace {

TEST(AdamWTest, MatchesReferenceOverSeveralSteps) {
  const AdamWHyperparameters hyper{.lr = 0.01, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8};
  std::vector<double> p = {1.0, -2.0, 0.5}, m(3, 0.0), v(3, 0.0);
  std::vector<double> rp = p, rm = m, rv = v;
  const double wd = 0.1;
  for (int step = 1; step <= 5; ++step) {
    const std::vector<double> g = {0.3 * step, -0.1, 1e-3 / step};
    AdamWUpdate(p.data(), g.data(), m.data(), v.data(), 3, hyper, step, wd);
    for (int i = 0; i < 3; ++i) {
      rp[i] *= 1 - hyper.lr * wd;
      rm[i] = 0.9 * rm[i] + 0.1 * g[i];
      rv[i] = 0.95 * rv[i] + 0.05 * g[i] * g[i];
      const double mhat = rm[i] / (1 - std::pow(0.9, step));
      const double vhat = rv[i] / (1 - std::pow(0.95, step));
      rp[i] -= hyper.lr * mhat / (std::sqrt(vhat) + hyper.eps);
    }
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(p[i], rp[i], 1e-14);
    EXPECT_NEAR(m[i], rm[i], 1e-14);
    EXPECT_NEAR(v[i], rv[i], 1e-14);
  }
}

TEST(AdamWTest, TinyGradientsStillMoveWithMiniMaxEps) {
  // With eps 1e-15 a gradient of 1e-14 still gives a step of ~lr; eps 1e-8 would stall it.
  float p = 0, m = 0, v = 0;
  const float g = 1e-14f;
  AdamWUpdate(&p, &g, &m, &v, 1, {.lr = 1e-3}, 1, 0.0);
  EXPECT_NEAR(p, -1e-3f * (1e-14 / (1e-14 + 1e-15)), 1e-6);
  float p2 = 0, m2 = 0, v2 = 0;
  AdamWUpdate(&p2, &g, &m2, &v2, 1, {.lr = 1e-3, .eps = 1e-8}, 1, 0.0);
  EXPECT_LT(std::abs(p2), 1e-8f);
}

TEST(AdamWTest, NormHelpers) {
  std::vector<float> x = {3.0f, 4.0f};
  EXPECT_DOUBLE_EQ(SumOfSquares(x.data(), 2), 25.0);
  ScaleInPlace(x.data(), 2, 0.5f);
  EXPECT_EQ(x[0], 1.5f);
  EXPECT_EQ(x[1], 2.0f);
}

}  // namespace
}  // namespace lightrl::kernels
