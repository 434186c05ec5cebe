#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/gradient_check.h"

namespace lightrl::kernels {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::RandomVector;

const AttentionShape kShape{.heads = 4, .kv_heads = 2, .head_dim = 3, .scale = 0.577};
constexpr int kRows = 9;
constexpr int kLdq = 12, kLdk = 6;
const std::vector<int32_t> kOffsets{0, 5, 6, 9};

struct Inputs {
  std::vector<double> q = RandomVector(kRows * kLdq, 1);
  std::vector<double> k = RandomVector(kRows * kLdk, 2);
  std::vector<double> v = RandomVector(kRows * kLdk, 3);
};

std::vector<double> Forward(const Inputs& in, std::vector<double>* lse = nullptr) {
  std::vector<double> out(kRows * kLdq), l(kRows * kShape.heads);
  AttentionForward(in.q.data(), kLdq, in.k.data(), kLdk, in.v.data(), kLdk, kOffsets.data(), 3,
                   kShape, out.data(), l.data());
  if (lse != nullptr) *lse = l;
  return out;
}

TEST(AttentionTest, ForwardMatchesNaiveCausalGqa) {
  const Inputs in;
  const std::vector<double> out = Forward(in);
  for (int s = 0; s < 3; ++s) {
    for (int t = kOffsets[s]; t < kOffsets[s + 1]; ++t) {
      for (int h = 0; h < 4; ++h) {
        const int g = h / 2;
        std::vector<double> w;
        double total = 0;
        for (int u = kOffsets[s]; u <= t; ++u) {
          double dot = 0;
          for (int c = 0; c < 3; ++c)
            dot += in.q[t * kLdq + h * 3 + c] * in.k[u * kLdk + g * 3 + c];
          w.push_back(std::exp(dot * kShape.scale));
          total += w.back();
        }
        for (int c = 0; c < 3; ++c) {
          double expected = 0;
          for (int u = kOffsets[s]; u <= t; ++u) {
            expected += w[u - kOffsets[s]] / total * in.v[u * kLdk + g * 3 + c];
          }
          EXPECT_NEAR(out[t * kLdq + h * 3 + c], expected, 1e-12);
        }
      }
    }
  }
}

TEST(AttentionTest, FirstRowOfASequenceCopiesItsValue) {
  const Inputs in;
  const std::vector<double> out = Forward(in);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(out[5 * kLdq + 2 * 3 + c], in.v[5 * kLdk + 3 + c], 1e-15);
}

TEST(AttentionTest, BackwardMatchesFiniteDifferences) {
  Inputs in;
  const std::vector<double> r = RandomVector(kRows * kLdq, 4);
  auto loss = [&] { return Dot(Forward(in), r); };
  std::vector<double> lse;
  const std::vector<double> out = Forward(in, &lse);
  std::vector<double> dq(in.q.size()), dk(in.k.size()), dv(in.v.size());
  AttentionBackward(in.q.data(), kLdq, in.k.data(), kLdk, in.v.data(), kLdk, out.data(), lse.data(),
                    r.data(), kOffsets.data(), 3, kShape, dq.data(), dk.data(), dv.data());
  EXPECT_TRUE(CheckGradient(&in.q, dq, loss).Passes());
  EXPECT_TRUE(CheckGradient(&in.k, dk, loss).Passes());
  EXPECT_TRUE(CheckGradient(&in.v, dv, loss).Passes());
}

TEST(AttentionTest, CachedRowIsBitIdenticalToTrainingRow) {
  const Inputs d;
  const std::vector<float> q(d.q.begin(), d.q.end()), k(d.k.begin(), d.k.end()),
      v(d.v.begin(), d.v.end());
  std::vector<float> out(kRows * kLdq), lse(kRows * 4);
  const AttentionShape shape = kShape;
  AttentionForward(q.data(), kLdq, k.data(), kLdk, v.data(), kLdk, kOffsets.data(), 3, shape,
                   out.data(), lse.data());
  // Row 4 (last of sequence 0), head 3 (kv head 1), keys copied into a separate cache.
  std::vector<float> cache_k, cache_v, row(3), scores(5);
  for (int u = 0; u < 5; ++u) {
    cache_k.insert(cache_k.end(), k.begin() + u * kLdk + 3, k.begin() + u * kLdk + 6);
    cache_v.insert(cache_v.end(), v.begin() + u * kLdk + 3, v.begin() + u * kLdk + 6);
  }
  float row_lse;
  AttentionRow(q.data() + 4 * kLdq + 9, cache_k.data(), 3, cache_v.data(), 3, 5, 3,
               static_cast<float>(shape.scale), row.data(), &row_lse, scores.data());
  for (int c = 0; c < 3; ++c) EXPECT_EQ(row[c], out[4 * kLdq + 9 + c]);
  EXPECT_EQ(row_lse, lse[4 * 4 + 3]);
}

}  // namespace
}  // namespace lightrl::kernels
