// GPU RMSNorm against the CPU reference (kernels/norm.h).
#include "kernels/cuda/norm.h"

#include <gtest/gtest.h>

#include "kernels/cuda/test_util.h"
#include "kernels/norm.h"

namespace lightrl::kernels::cuda {
namespace {

using testing::GpuTest;
using testing::RandomFloats;
using testing::RelativeError;

class NormTest : public GpuTest {};

TEST_F(NormTest, ForwardAndBackwardMatchCpu) {
  for (const auto& [rows, dim] : std::vector<std::pair<int, int>>{{67, 300}, {1, 2048}, {300, 7}}) {
    const auto x = RandomFloats(static_cast<size_t>(rows) * dim, rows + dim, 2.0f);
    auto w = RandomFloats(dim, 3);
    for (float& v : w) v += 1.0f;
    const auto dy = RandomFloats(x.size(), 4);
    const auto dw0 = RandomFloats(dim, 5);
    std::vector<float> y(x.size()), inv(rows), dx(x.size()), dw = dw0;
    kernels::RmsNormForward(x.data(), w.data(), rows, dim, 1e-5f, y.data(), inv.data());
    kernels::RmsNormBackward(x.data(), w.data(), inv.data(), dy.data(), rows, dim, dx.data(),
                             dw.data());

    auto dx_in = Upload(x);
    auto dw_in = Upload(w);
    auto d_y = Output(x.size());
    auto d_inv = Output(rows);
    RmsNormForward(ctx(), dx_in.data(), dw_in.data(), rows, dim, 1e-5f, d_y.data(), d_inv.data());
    EXPECT_LT(RelativeError(d_y.Download(), y), 1e-6) << rows << "x" << dim;
    EXPECT_LT(RelativeError(d_inv.Download(), inv), 1e-6);
    testing::ExpectClean(d_y, "y");
    testing::ExpectClean(d_inv, "inv_rms");

    auto d_dy = Upload(dy);
    auto d_dx = Output(x.size());
    auto d_dw = Upload(dw0);
    RmsNormBackward(ctx(), dx_in.data(), dw_in.data(), d_inv.data(), d_dy.data(), rows, dim,
                    d_dx.data(), d_dw.data());
    EXPECT_LT(RelativeError(d_dx.Download(), dx), 1e-5);
    EXPECT_LT(RelativeError(d_dw.Download(), dw), 1e-5);
    testing::ExpectClean(d_dx, "dx");
    testing::ExpectClean(d_dw, "dw");
  }
}

TEST_F(NormTest, InPlaceAndRepeatableBackward) {
  const int rows = 40, dim = 96;
  const auto x = RandomFloats(rows * dim, 8);
  const auto w = RandomFloats(dim, 9);
  const auto dy = RandomFloats(rows * dim, 10);
  std::vector<float> y(x.size()), inv(rows);
  kernels::RmsNormForward(x.data(), w.data(), rows, dim, 1e-6f, y.data(), inv.data());
  auto d_x = Upload(x);
  auto d_w = Upload(w);
  auto d_inv = Output(rows);
  auto in_place = Upload(x);
  RmsNormForward(ctx(), in_place.data(), d_w.data(), rows, dim, 1e-6f, in_place.data(),
                 d_inv.data());
  EXPECT_LT(RelativeError(in_place.Download(), y), 1e-6);
  // Backward with dx aliasing dy, twice: the same bits both times.
  std::vector<std::vector<float>> runs;
  for (int run = 0; run < 2; ++run) {
    auto d_dy = Upload(dy);
    auto d_dw = Upload(std::vector<float>(dim, 0.0f));
    RmsNormBackward(ctx(), d_x.data(), d_w.data(), d_inv.data(), d_dy.data(), rows, dim,
                    d_dy.data(), d_dw.data());
    std::vector<float> both = d_dy.Download();
    const std::vector<float> dw = d_dw.Download();
    both.insert(both.end(), dw.begin(), dw.end());
    runs.push_back(both);
  }
  EXPECT_EQ(runs[0], runs[1]);
  std::vector<float> dx(x.size()), dw(dim, 0.0f);
  kernels::RmsNormBackward(x.data(), w.data(), inv.data(), dy.data(), rows, dim, dx.data(),
                           dw.data());
  dx.insert(dx.end(), dw.begin(), dw.end());
  EXPECT_LT(RelativeError(runs[0], dx), 1e-5);
}

}  // namespace
}  // namespace lightrl::kernels::cuda
