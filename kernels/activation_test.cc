#include "kernels/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/gradient_check.h"

namespace lightrl::kernels {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::RandomVector;

TEST(ActivationTest, SiluForwardAndStrides) {
  // A 2 × 3 block read from a row stride of 5 and written with a stride of 4.
  std::vector<double> x = RandomVector(10, 1, 2.0), y(8, 7.0);
  SiluForward(x.data(), 5, 2, 3, y.data(), 4);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) {
      const double v = x[r * 5 + c];
      EXPECT_NEAR(y[r * 4 + c], v / (1 + std::exp(-v)), 1e-14);
    }
    EXPECT_EQ(y[r * 4 + 3], 7.0);  // outside the block: untouched
  }
}

TEST(ActivationTest, SiluBackwardMatchesFiniteDifferences) {
  std::vector<double> x = RandomVector(24, 2, 2.0);
  const std::vector<double> r = RandomVector(24, 3);
  auto loss = [&] {
    std::vector<double> y(24);
    SiluForward(x.data(), 6, 4, 6, y.data(), 6);
    return Dot(y, r);
  };
  std::vector<double> dx(24);
  SiluBackward(x.data(), 6, r.data(), 6, 4, 6, dx.data(), 6);
  EXPECT_TRUE(CheckGradient(&x, dx, loss).Passes());
}

TEST(ActivationTest, SwiGluBackwardMatchesFiniteDifferences) {
  const int rows = 3, inter = 5;
  std::vector<double> gu = RandomVector(rows * 2 * inter, 4, 1.5);
  const std::vector<double> r = RandomVector(rows * inter, 5);
  auto loss = [&] {
    std::vector<double> out(rows * inter);
    SwiGluForward(gu.data(), rows, inter, out.data());
    return Dot(out, r);
  };
  std::vector<double> out(rows * inter), dgu(gu.size());
  SwiGluForward(gu.data(), rows, inter, out.data());
  EXPECT_NEAR(out[inter + 2],
              gu[2 * inter + 2] / (1 + std::exp(-gu[2 * inter + 2])) * gu[3 * inter + 2], 1e-14);
  SwiGluBackward(gu.data(), r.data(), rows, inter, dgu.data());
  EXPECT_TRUE(CheckGradient(&gu, dgu, loss).Passes());
}

TEST(ActivationTest, SigmoidGateBackwardMatchesFiniteDifferences) {
  const int rows = 3, cols = 4, ldg = 7;
  std::vector<double> gate = RandomVector(rows * ldg, 6, 2.0), x = RandomVector(rows * cols, 7);
  const std::vector<double> r = RandomVector(rows * cols, 8);
  auto loss = [&] {
    std::vector<double> y(rows * cols);
    SigmoidGateForward(gate.data(), ldg, x.data(), rows, cols, y.data());
    return Dot(y, r);
  };
  std::vector<double> dgate(rows * ldg, 0.0), dx(rows * cols);
  SigmoidGateBackward(gate.data(), ldg, x.data(), r.data(), rows, cols, dgate.data(), ldg,
                      dx.data());
  EXPECT_TRUE(CheckGradient(&gate, dgate, loss).Passes());
  EXPECT_TRUE(CheckGradient(&x, dx, loss).Passes());
}

}  // namespace
}  // namespace lightrl::kernels
