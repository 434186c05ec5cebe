// GPU GEMMs against the CPU reference (kernels/gemm.h): FP32, bf16 and bf16x3, and the
// algorithm classes of kernels/cuda/matmul.h.
#include "kernels/cuda/gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <set>

#include "kernels/bf16.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/test_util.h"
#include "kernels/gemm.h"

namespace lightrl::kernels::cuda {
namespace {

using testing::GpuTest;
using testing::RandomFloats;
using testing::RelativeError;

class GemmTest : public GpuTest {
 protected:
  // Runs one product on both sides; returns the relative error against the CPU result
  // computed with `cpu_bf16` inputs.
  double Compare(GemmPrecision precision, bool cpu_bf16, Transpose ta, Transpose tb, int m, int n,
                 int k, float alpha, float beta, bool with_copy, uint64_t seed) {
    const int a_rows = ta == Transpose::kNo ? m : k, a_cols = ta == Transpose::kNo ? k : m;
    const int b_rows = tb == Transpose::kNo ? k : n, b_cols = tb == Transpose::kNo ? n : k;
    const int lda = a_cols + 3, ldb = b_cols + 5, ldc = n + 2;  // strided rows
    const auto a = RandomFloats(static_cast<size_t>(a_rows) * lda, seed);
    const auto b = RandomFloats(static_cast<size_t>(b_rows) * ldb, seed + 1);
    auto c = RandomFloats(static_cast<size_t>(m) * ldc, seed + 2);
    std::vector<float> expected = c;
    kernels::Gemm<float>(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta,
                         expected.data(), ldc, {.bf16_inputs = cpu_bf16});
    auto da = Upload(a);
    auto db = Upload(b);
    auto dc = beta == 0 ? Output(c.size()) : Upload(c);
    auto a16 = Output<bf16>(a.size());
    auto b16 = Output<bf16>(b.size());
    Matrix ma{da.data(), lda, nullptr}, mb{db.data(), ldb, nullptr};
    if (with_copy) {
      ConvertToBf16(ctx(), da.data(), lda, a_rows, lda, a16.data(), lda);
      ConvertToBf16(ctx(), db.data(), ldb, b_rows, ldb, b16.data(), ldb);
      ma.bf16_copy = a16.data();
      mb.bf16_copy = b16.data();
    }
    Gemm(ctx(), precision, ta, tb, m, n, k, alpha, ma, mb, beta, dc.data(), ldc);
    std::vector<float> got = dc.Download();
    testing::ExpectClean(dc, "C", /*all_written=*/false);
    // Only the m × n block is an output; the padding columns keep their old values.
    std::vector<float> got_block, want_block;
    for (int r = 0; r < m; ++r) {
      for (int col = 0; col < ldc; ++col) {
        const size_t i = static_cast<size_t>(r) * ldc + col;
        if (col < n) {
          got_block.push_back(got[i]);
          want_block.push_back(expected[i]);
        } else if (beta != 0) {
          EXPECT_EQ(got[i], c[i]) << "padding column " << col << " of row " << r << " changed";
        }
      }
    }
    return RelativeError(got_block, want_block);
  }
};

TEST_F(GemmTest, Fp32MatchesCpuForEveryTranspose) {
  uint64_t seed = 10;
  for (Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      const double err =
          Compare(GemmPrecision::kFp32, false, ta, tb, 37, 53, 29, 0.7f, 0.3f, false, seed += 3);
      EXPECT_LT(err, 1e-6) << "transposes " << int(ta) << int(tb);
    }
  }
}

TEST_F(GemmTest, Fp32WithZeroBetaWritesEveryOutput) {
  EXPECT_LT(Compare(GemmPrecision::kFp32, false, Transpose::kNo, Transpose::kYes, 64, 96, 128, 1.0f,
                    0.0f, false, 77),
            1e-6);
}

TEST_F(GemmTest, Bf16EqualsCpuBf16ModeAndDiffersFromFp32) {
  uint64_t seed = 40;
  for (bool with_copy : {false, true}) {
    for (Transpose ta : {Transpose::kNo, Transpose::kYes}) {
      const double same = Compare(GemmPrecision::kBf16, true, ta, Transpose::kYes, 45, 70, 128,
                                  1.0f, 0.5f, with_copy, seed += 3);
      EXPECT_LT(same, 2e-6) << "with_copy " << with_copy;
      const double versus_fp32 = Compare(GemmPrecision::kBf16, false, ta, Transpose::kYes, 45, 70,
                                         128, 1.0f, 0.0f, with_copy, seed += 3);
      EXPECT_GT(versus_fp32, 1e-4) << "the inputs were not rounded to bf16";
      EXPECT_LT(versus_fp32, 1e-2);
    }
  }
}

TEST_F(GemmTest, Bf16x3IsCloseToFp32ForEveryTranspose) {
  uint64_t seed = 60;
  for (Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      for (float beta : {0.0f, 0.4f}) {
        const double err =
            Compare(GemmPrecision::kBf16x3, false, ta, tb, 45, 70, 1024, 0.8f, beta, false, seed++);
        EXPECT_LT(err, 2e-5) << "transposes " << int(ta) << int(tb) << " beta " << beta;
      }
    }
  }
  // The same product in bf16 is two orders of magnitude further from FP32.
  EXPECT_GT(Compare(GemmPrecision::kBf16, false, Transpose::kNo, Transpose::kYes, 45, 70, 1024,
                    0.8f, 0.0f, false, 60),
            100 * Compare(GemmPrecision::kBf16x3, false, Transpose::kNo, Transpose::kYes, 45, 70,
                          1024, 0.8f, 0.0f, false, 60));
}

// Products whose row count changes from call to call (tokens per batch, rows per expert)
// share one algorithm query per power-of-two class of rows, and repeating a shape asks
// nothing new (kernels/cuda/matmul.h).
TEST_F(GemmTest, RowCountsThatVaryShareAlgorithmQueries) {
  std::mt19937 rng(5);
  std::vector<int> rows;
  std::set<int> classes;
  while (rows.size() < 16) {
    const int m = 1 + static_cast<int>(rng() % 700);
    if (std::find(rows.begin(), rows.end(), m) != rows.end()) continue;
    rows.push_back(m);
    classes.insert(static_cast<int>(std::bit_ceil(static_cast<unsigned>(m))));
  }
  for (Transpose tb : {Transpose::kNo, Transpose::kYes}) {
    const int64_t before = ctx().matmul().queries();
    uint64_t seed = 90;
    for (int pass = 0; pass < 2; ++pass) {
      for (int m : rows) {
        EXPECT_LT(Compare(GemmPrecision::kBf16, true, Transpose::kNo, tb, m, 96, 64, 1.0f, 0.5f,
                          true, seed++),
                  2e-6)
            << "m " << m;
      }
      EXPECT_LE(ctx().matmul().queries() - before, static_cast<int64_t>(classes.size()))
          << "pass " << pass;
    }
    EXPECT_LT(classes.size(), rows.size());
  }
}

// Operands one element off a 16-byte boundary still multiply right (their alignment is part
// of the algorithm's class).
TEST_F(GemmTest, MisalignedOperandsMultiplyRight) {
  const int m = 33, n = 40, k = 24;
  const auto a = RandomFloats(static_cast<size_t>(m) * k + 1, 3);
  const auto b = RandomFloats(static_cast<size_t>(n) * k + 1, 4);
  std::vector<float> expected(static_cast<size_t>(m) * n + 1, 0.0f);
  kernels::Gemm<float>(Transpose::kNo, Transpose::kYes, m, n, k, 1.0f, a.data() + 1, k,
                       b.data() + 1, k, 0.0f, expected.data() + 1, n, {});
  auto da = Upload(a);
  auto db = Upload(b);
  auto dc = Output(expected.size());
  Gemm(ctx(), GemmPrecision::kFp32, Transpose::kNo, Transpose::kYes, m, n, k, 1.0f,
       {da.data() + 1, k, nullptr}, {db.data() + 1, k, nullptr}, 0.0f, dc.data() + 1, n);
  std::vector<float> got = dc.Download();
  EXPECT_LT(RelativeError(std::vector<float>(got.begin() + 1, got.end()),
                          std::vector<float>(expected.begin() + 1, expected.end())),
            1e-6);
}

TEST_F(GemmTest, SplitToBf16KeepsSixteenBitsInHiPlusLo) {
  const int rows = 37, cols = 53, ld_in = 60, ld_out = 3 * cols;
  const auto values = RandomFloats(static_cast<size_t>(rows) * ld_in, 9, 30.0f);
  auto in = Upload(values);
  auto out = Output<bf16>(static_cast<size_t>(rows) * ld_out);
  // Three column blocks of one array, as the LM head lays out a split operand.
  SplitToBf16(ctx(), in.data(), ld_in, rows, cols, out.data(), out.data() + cols, ld_out,
              out.data() + 2 * cols);
  const std::vector<bf16> got = out.Download();
  testing::ExpectClean(out, "split");
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const float x = values[static_cast<size_t>(r) * ld_in + c];
      const size_t o = static_cast<size_t>(r) * ld_out + c;
      const float hi = __bfloat162float(got[o]), lo = __bfloat162float(got[o + cols]);
      ASSERT_EQ(hi, RoundToBf16(x)) << "value " << x;
      ASSERT_EQ(lo, RoundToBf16(x - hi)) << "value " << x;
      ASSERT_EQ(__bfloat162float(got[o + 2 * cols]), hi);
      ASSERT_LE(std::abs(hi + lo - x), std::ldexp(std::abs(x), -16)) << "value " << x;
    }
  }
}

TEST_F(GemmTest, ConvertToBf16RoundsToNearestEvenLikeTheCpu) {
  auto values = RandomFloats(1000, 5, 100.0f);
  values.push_back(1.0f + 1.0f / 256);  // a tie: rounds to even (1.0)
  values.push_back(INFINITY);
  values.push_back(-0.0f);
  auto in = Upload(values);
  auto out = Output<bf16>(values.size());
  ConvertToBf16(ctx(), in.data(), 1, static_cast<int>(values.size()), 1, out.data(), 1);
  const std::vector<bf16> got = out.Download();
  testing::ExpectClean(out, "bf16 out");
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(__bfloat162float(got[i]), RoundToBf16(values[i])) << "value " << values[i];
  }
}

TEST_F(GemmTest, ConvertToBf16CoversStridedBlocksOfEveryShape) {
  struct Shape {
    int rows, cols, ld_in, ld_out;
  };
  // Four values per thread (strided), one value per thread over more rows than one grid
  // holds, and a contiguous block that becomes one run.
  for (const Shape shape : {Shape{300, 8, 12, 8}, Shape{70001, 3, 5, 4}, Shape{64, 36, 36, 36}}) {
    const auto values = RandomFloats(static_cast<size_t>(shape.rows) * shape.ld_in, 21, 10.0f);
    auto in = Upload(values);
    auto out = Output<bf16>(static_cast<size_t>(shape.rows) * shape.ld_out);
    ConvertToBf16(ctx(), in.data(), shape.ld_in, shape.rows, shape.cols, out.data(), shape.ld_out);
    const std::vector<bf16> got = out.Download();
    EXPECT_EQ(out.DamagedGuards(), 0) << "write outside the array";
    EXPECT_EQ(out.Unwritten(), shape.rows * (shape.ld_out - shape.cols)) << "padding written";
    for (int r = 0; r < shape.rows; ++r) {
      for (int c = 0; c < shape.cols; ++c) {
        ASSERT_EQ(__bfloat162float(got[static_cast<size_t>(r) * shape.ld_out + c]),
                  RoundToBf16(values[static_cast<size_t>(r) * shape.ld_in + c]))
            << "row " << r << " column " << c << " of " << shape.rows << " x " << shape.cols;
      }
    }
  }
}

}  // namespace
}  // namespace lightrl::kernels::cuda
