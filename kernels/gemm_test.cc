#include "kernels/gemm.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/gradient_check.h"

namespace lightrl::kernels {
namespace {

using testing::RandomVector;

TEST(GemmTest, AllTransposesMatchNaive) {
  const int m = 5, n = 4, k = 3;
  const std::vector<double> a = RandomVector(m * k, 1), b = RandomVector(k * n, 2);
  std::vector<double> at(k * m), bt(n * k);
  for (int i = 0; i < m; ++i)
    for (int p = 0; p < k; ++p) at[p * m + i] = a[i * k + p];
  for (int p = 0; p < k; ++p)
    for (int j = 0; j < n; ++j) bt[j * k + p] = b[p * n + j];
  for (Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      std::vector<double> c(m * n, 1.0);
      Gemm<double>(ta, tb, m, n, k, 2.0, ta == Transpose::kNo ? a.data() : at.data(),
                   ta == Transpose::kNo ? k : m, tb == Transpose::kNo ? b.data() : bt.data(),
                   tb == Transpose::kNo ? n : k, 0.5, c.data(), n);
      for (int i = 0; i < m; ++i) {
        for (int j = 0; j < n; ++j) {
          double dot = 0;
          for (int p = 0; p < k; ++p) dot += a[i * k + p] * b[p * n + j];
          EXPECT_NEAR(c[i * n + j], 2 * dot + 0.5, 1e-13);
        }
      }
    }
  }
}

TEST(GemmTest, Bf16ModeRoundsInputsBeforeTheProduct) {
  const int m = 3, n = 2, k = 4;
  const std::vector<double> ad = RandomVector(m * k, 3), wd = RandomVector(n * k, 4);
  const std::vector<float> a(ad.begin(), ad.end()), w(wd.begin(), wd.end());
  std::vector<float> ar(a.size()), wr(w.size()), c(m * n), expected(m * n);
  RoundToBf16(a.data(), ar.data(), a.size());
  RoundToBf16(w.data(), wr.data(), w.size());
  MatMulWt(a.data(), m, k, w.data(), n, c.data(), {.bf16_inputs = true});
  MatMulWt(ar.data(), m, k, wr.data(), n, expected.data());
  EXPECT_EQ(c, expected);
}

TEST(GemmTest, MatMulWtRowsDoNotDependOnTheBatch) {
  // Shapes of the model's projections and LM head: wide and narrow, with and without
  // padding to OpenBLAS's general path.
  const int shapes[][2] = {{128, 512}, {128, 128}, {256, 128}, {128, 264}, {512, 2048},
                           {512, 768}, {300, 64},  {64, 300},  {16, 64}};
  for (const auto& [k, n] : shapes) {
    const int m = 700;
    const std::vector<double> ad = RandomVector(static_cast<size_t>(m) * k, k + n);
    const std::vector<double> wd = RandomVector(static_cast<size_t>(n) * k, k * n);
    const std::vector<float> a(ad.begin(), ad.end()), w(wd.begin(), wd.end());
    std::vector<float> all(static_cast<size_t>(m) * n), some(static_cast<size_t>(m) * n);
    MatMulWt(a.data(), m, k, w.data(), n, all.data());
    for (int rows : {1, 2, 7, 8, 33, 300}) {
      for (int start : {0, 17, m - rows}) {
        MatMulWt(a.data() + static_cast<size_t>(start) * k, rows, k, w.data(), n, some.data());
        EXPECT_EQ(0, std::memcmp(some.data(), all.data() + static_cast<size_t>(start) * n,
                                 sizeof(float) * rows * n))
            << "k " << k << " n " << n << " rows " << rows << " from " << start;
      }
    }
  }
}

TEST(GemmTest, MatMulWtMatchesGemm) {
  const int m = 37, k = 19, n = 23;
  const std::vector<double> a = RandomVector(m * k, 7), w = RandomVector(n * k, 8);
  std::vector<double> c(m * n), expected(m * n);
  MatMulWt(a.data(), m, k, w.data(), n, c.data());
  Gemm<double>(Transpose::kNo, Transpose::kYes, m, n, k, 1.0, a.data(), k, w.data(), k, 0.0,
               expected.data(), n);
  for (int i = 0; i < m * n; ++i) EXPECT_NEAR(c[i], expected[i], 1e-12);
}

}  // namespace
}  // namespace lightrl::kernels
