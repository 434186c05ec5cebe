#include "kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/gradient_check.h"

namespace lightrl::kernels {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::RandomVector;

const RopeShape kShape{.heads = 2, .head_dim = 8, .rotary_dim = 4, .theta = 100.0};
const int32_t kPositions[] = {0, 3, 11};

TEST(RopeTest, RotatesPairsAndPassesTheRest) {
  std::vector<double> x = RandomVector(3 * 16, 1);
  const std::vector<double> original = x;
  RopeForward(x.data(), 3, 16, kShape, kPositions);
  for (int r = 0; r < 3; ++r) {
    for (int h = 0; h < 2; ++h) {
      const double* in = original.data() + r * 16 + h * 8;
      const double* out = x.data() + r * 16 + h * 8;
      for (int i = 0; i < 2; ++i) {
        const double angle = kPositions[r] * std::pow(100.0, -2.0 * i / 4);
        EXPECT_NEAR(out[i], in[i] * std::cos(angle) - in[i + 2] * std::sin(angle), 1e-12);
        EXPECT_NEAR(out[i + 2], in[i + 2] * std::cos(angle) + in[i] * std::sin(angle), 1e-12);
      }
      for (int i = 4; i < 8; ++i) EXPECT_EQ(out[i], in[i]);
    }
  }
}

TEST(RopeTest, BackwardMatchesFiniteDifferences) {
  std::vector<double> x = RandomVector(3 * 16, 2);
  const std::vector<double> r = RandomVector(3 * 16, 3);
  auto loss = [&] {
    std::vector<double> y = x;
    RopeForward(y.data(), 3, 16, kShape, kPositions);
    return Dot(y, r);
  };
  std::vector<double> dx = r;
  RopeBackward(dx.data(), 3, 16, kShape, kPositions);
  EXPECT_TRUE(CheckGradient(&x, dx, loss).Passes());
}

}  // namespace
}  // namespace lightrl::kernels
