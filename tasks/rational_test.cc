#include "tasks/rational.h"

#include <gtest/gtest.h>

namespace lightrl {
namespace {

Rational R(int64_t num, int64_t den) { return *Rational::Make(num, den); }

TEST(RationalTest, MakeNormalizesSignAndTerms) {
  EXPECT_EQ(R(6, -8), (Rational{-3, 4}));
  EXPECT_EQ(R(0, 5), (Rational{0, 1}));
  EXPECT_FALSE(Rational::Make(1, 0).has_value());
}

TEST(RationalTest, ParsesIntegersDecimalsAndFractions) {
  EXPECT_EQ(ParseRational("42"), Rational::Integer(42));
  EXPECT_EQ(ParseRational("  -7 "), Rational::Integer(-7));
  EXPECT_EQ(ParseRational("+7"), Rational::Integer(7));
  EXPECT_EQ(ParseRational("1,234,567"), Rational::Integer(1234567));
  EXPECT_EQ(ParseRational("0.25"), R(1, 4));
  EXPECT_EQ(ParseRational("-.5"), R(-1, 2));
  EXPECT_EQ(ParseRational("3."), Rational::Integer(3));
  EXPECT_EQ(ParseRational("122.000"), Rational::Integer(122));
  EXPECT_EQ(ParseRational("6/8"), R(3, 4));
  EXPECT_EQ(ParseRational("007"), Rational::Integer(7));
}

TEST(RationalTest, RejectsNonNumbers) {
  for (const char* text :
       {"", " ", "abc", "12a", "1e5", "1/0", "1,23", "12,345,67", ",123", "1.2.3", "--1", "1/2/3",
        ".", "-", "1 2", "0x10", "1234567890123456789"}) {
    EXPECT_FALSE(ParseRational(text).has_value()) << text;
  }
}

TEST(RationalTest, DecimalsAreExact) {
  EXPECT_EQ(ParseRational("0.1"), R(1, 10));
  EXPECT_NE(ParseRational("0.333"), R(1, 3));
}

TEST(RationalTest, ArithmeticIsExactAndChecked) {
  EXPECT_EQ(Add(R(1, 2), R(1, 3)), R(5, 6));
  EXPECT_EQ(Subtract(R(1, 2), R(1, 2)), Rational::Integer(0));
  EXPECT_EQ(Multiply(R(2, 3), R(3, 4)), R(1, 2));
  EXPECT_EQ(Divide(R(7, 2), Rational::Integer(7)), R(1, 2));
  EXPECT_FALSE(Divide(R(1, 2), Rational::Integer(0)).has_value());
  Rational big = Rational::Integer(int64_t{1} << 62);
  EXPECT_FALSE(Multiply(big, big).has_value());
  EXPECT_FALSE(Add(big, big).has_value());
}

TEST(RationalTest, ToString) {
  EXPECT_EQ(R(-3, 4).ToString(), "-3/4");
  EXPECT_EQ(Rational::Integer(12).ToString(), "12");
}

}  // namespace
}  // namespace lightrl
