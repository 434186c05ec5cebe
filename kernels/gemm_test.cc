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
  MatMulWt(a.data(), m, k, w.data(), n, c.data(), false, {.bf16_inputs = true});
  MatMulWt(ar.data(), m, k, wr.data(), n, expected.data(), false);
  EXPECT_EQ(c, expected);
}

TEST(GemmTest, RowGroupsGiveTheSameRowWhateverTheBatch) {
  const int k = 64, n = 96;
  const std::vector<double> ad = RandomVector(13 * k, 5), wd = RandomVector(n * k, 6);
  const std::vector<float> a(ad.begin(), ad.end()), w(wd.begin(), wd.end());
  std::vector<float> all(13 * n), one(n), some(5 * n);
  MatMulWtRowGroups(a.data(), 13, k, w.data(), n, all.data(), 8);
  MatMulWtRowGroups(a.data() + 9 * k, 1, k, w.data(), n, one.data(), 8);
  MatMulWtRowGroups(a.data() + 5 * k, 5, k, w.data(), n, some.data(), 8);
  EXPECT_EQ(0, std::memcmp(one.data(), all.data() + 9 * n, n * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(some.data() + 4 * n, all.data() + 9 * n, n * sizeof(float)));
}

}  // namespace
}  // namespace lightrl::kernels
