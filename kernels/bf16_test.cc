#include "kernels/bf16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace lightrl::kernels {
namespace {

float FromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

TEST(Bf16Test, ExactValuesStay) {
  for (float x : {0.0f, -0.0f, 1.0f, -2.5f, 0.15625f, 65536.0f}) EXPECT_EQ(RoundToBf16(x), x);
}

TEST(Bf16Test, RoundsToNearestEven) {
  // 1 + 2^-8 lies exactly between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
  EXPECT_EQ(RoundToBf16(FromBits(0x3f808000u)), 1.0f);
  // 1 + 3*2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6 (even): goes up to the even one.
  EXPECT_EQ(RoundToBf16(FromBits(0x3f818000u)), FromBits(0x3f820000u));
  // Just above the halfway point rounds up, just below rounds down.
  EXPECT_EQ(RoundToBf16(FromBits(0x3f808001u)), FromBits(0x3f810000u));
  EXPECT_EQ(RoundToBf16(FromBits(0x3f807fffu)), 1.0f);
}

TEST(Bf16Test, SpecialValues) {
  EXPECT_TRUE(std::isnan(RoundToBf16(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(RoundToBf16(std::numeric_limits<float>::infinity()),
            std::numeric_limits<float>::infinity());
  EXPECT_EQ(RoundToBf16(std::numeric_limits<float>::max()), std::numeric_limits<float>::infinity());
}

TEST(Bf16Test, ArrayVersionMatchesScalarAndWorksInPlace) {
  double values[] = {1.0 / 3.0, -7.123456789, 1e-3};
  double rounded[3];
  RoundToBf16(values, rounded, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rounded[i], RoundToBf16(static_cast<float>(values[i])));
    EXPECT_NE(rounded[i], values[i]);
  }
  RoundToBf16(values, values, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(values[i], rounded[i]);
}

}  // namespace
}  // namespace lightrl::kernels
