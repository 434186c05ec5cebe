// GPU AdamW and gradient-norm helpers against the CPU reference (kernels/adamw.h).
#include "kernels/cuda/adamw.h"

#include <gtest/gtest.h>

#include "kernels/adamw.h"
#include "kernels/cuda/test_util.h"

namespace lightrl::kernels::cuda {
namespace {

using testing::GpuTest;
using testing::RandomFloats;
using testing::RelativeError;

class AdamWTest : public GpuTest {};

TEST_F(AdamWTest, StepsMatchCpuIncludingTinyGradients) {
  const size_t n = 100003;
  auto param = RandomFloats(n, 1);
  auto grad = RandomFloats(n, 2, 1e-3f);
  for (size_t i = 0; i < n; i += 3) grad[i] *= 1e-12f;  // MiniMax's tiny gradients
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  auto d_param = Upload(param);
  auto d_grad = Upload(grad);
  auto d_m = Upload(m);
  auto d_v = Upload(v);
  const AdamWHyperparameters hyper{.lr = 1e-3};
  for (int64_t step = 1; step <= 3; ++step) {
    kernels::AdamWUpdate(param.data(), grad.data(), m.data(), v.data(), n, hyper, step, 0.1);
    AdamWUpdate(ctx(), d_param.data(), d_grad.data(), d_m.data(), d_v.data(), n, hyper, step, 0.1);
  }
  EXPECT_LT(RelativeError(d_param.Download(), param), 1e-6);
  EXPECT_LT(RelativeError(d_m.Download(), m), 1e-6);
  EXPECT_LT(RelativeError(d_v.Download(), v), 1e-6);
  testing::ExpectClean(d_param, "param");
}

TEST_F(AdamWTest, SumOfSquaresAndScaling) {
  const auto x = RandomFloats(1 << 20, 3, 0.01f);
  auto d_x = Upload(x);
  const double cpu = kernels::SumOfSquares(x.data(), x.size());
  const double gpu = SumOfSquares(ctx(), d_x.data(), x.size());
  EXPECT_NEAR(gpu, cpu, 1e-12 * cpu);
  EXPECT_EQ(SumOfSquares(ctx(), d_x.data(), x.size()), gpu);  // fixed reduction order
  ScaleInPlace(ctx(), d_x.data(), x.size(), 0.5f);
  EXPECT_NEAR(SumOfSquares(ctx(), d_x.data(), x.size()), cpu / 4, 1e-12 * cpu);
}

}  // namespace
}  // namespace lightrl::kernels::cuda
