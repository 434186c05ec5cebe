#include "kernels/norm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/gradient_check.h"

namespace lightrl::kernels {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::RandomVector;

constexpr int kRows = 5;
constexpr int kDim = 12;
constexpr double kEps = 1e-5;

TEST(RmsNormTest, ForwardMatchesDefinition) {
  std::vector<double> x = RandomVector(kRows * kDim, 1), w = RandomVector(kDim, 2);
  std::vector<double> y(x.size()), inv(kRows);
  RmsNormForward(x.data(), w.data(), kRows, kDim, kEps, y.data(), inv.data());
  for (int r = 0; r < kRows; ++r) {
    double ms = 0;
    for (int i = 0; i < kDim; ++i) ms += x[r * kDim + i] * x[r * kDim + i] / kDim;
    EXPECT_NEAR(inv[r], 1 / std::sqrt(ms + kEps), 1e-12);
    for (int i = 0; i < kDim; ++i) {
      EXPECT_NEAR(y[r * kDim + i], w[i] * x[r * kDim + i] / std::sqrt(ms + kEps), 1e-12);
    }
  }
}

TEST(RmsNormTest, BackwardMatchesFiniteDifferences) {
  std::vector<double> x = RandomVector(kRows * kDim, 3), w = RandomVector(kDim, 4);
  const std::vector<double> r = RandomVector(kRows * kDim, 5);
  auto loss = [&] {
    std::vector<double> y(x.size());
    RmsNormForward(x.data(), w.data(), kRows, kDim, kEps, y.data(), static_cast<double*>(nullptr));
    return Dot(y, r);
  };
  std::vector<double> inv(kRows), y(x.size()), dx(x.size()), dw(kDim, 0.5);
  RmsNormForward(x.data(), w.data(), kRows, kDim, kEps, y.data(), inv.data());
  RmsNormBackward(x.data(), w.data(), inv.data(), r.data(), kRows, kDim, dx.data(), dw.data());
  for (double& g : dw) g -= 0.5;  // dw is accumulated onto what it held
  EXPECT_TRUE(CheckGradient(&x, dx, loss).Passes());
  EXPECT_TRUE(CheckGradient(&w, dw, loss).Passes());
}

TEST(RmsNormTest, RowResultIndependentOfBatch) {
  std::vector<float> x(64 * kDim), w(kDim, 1.5f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * i);
  std::vector<float> all(x.size()), one(kDim);
  RmsNormForward(x.data(), w.data(), 64, kDim, 1e-5f, all.data(), static_cast<float*>(nullptr));
  RmsNormForward(x.data() + 17 * kDim, w.data(), 1, kDim, 1e-5f, one.data(),
                 static_cast<float*>(nullptr));
  for (int i = 0; i < kDim; ++i) EXPECT_EQ(one[i], all[17 * kDim + i]);
}

}  // namespace
}  // namespace lightrl::kernels
