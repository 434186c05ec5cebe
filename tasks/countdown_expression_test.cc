#include "tasks/countdown_expression.h"

#include <gtest/gtest.h>

#include <string>

namespace lightrl {
namespace {

Rational ValueOf(const std::string& text) {
  StatusOr<CountdownEvaluation> eval = EvaluateCountdownExpression(text);
  EXPECT_TRUE(eval.ok()) << text << ": " << eval.status();
  EXPECT_TRUE(eval->value.has_value()) << text << ": " << eval->error;
  return *eval->value;
}

TEST(CountdownExpressionTest, RespectsPrecedenceAndParentheses) {
  EXPECT_EQ(ValueOf("(25-5)*4+3"), Rational::Integer(83));
  EXPECT_EQ(ValueOf("25-5*4+3"), Rational::Integer(8));
  EXPECT_EQ(ValueOf("100/5/2"), Rational::Integer(10));
  EXPECT_EQ(ValueOf("10-3-2"), Rational::Integer(5));
  EXPECT_EQ(ValueOf(" ( ( 7 ) ) "), Rational::Integer(7));
}

TEST(CountdownExpressionTest, EvaluatesExactly) {
  EXPECT_EQ(ValueOf("7/2*2"), Rational::Integer(7));
  EXPECT_EQ(ValueOf("1/3+1/3+1/3"), Rational::Integer(1));
  EXPECT_EQ(ValueOf("1/3"), *Rational::Make(1, 3));
}

TEST(CountdownExpressionTest, ReportsNumbersInOrder) {
  StatusOr<CountdownEvaluation> eval = EvaluateCountdownExpression("(25-5)*4+3");
  ASSERT_TRUE(eval.ok());
  EXPECT_EQ(eval->numbers, (std::vector<int64_t>{25, 5, 4, 3}));
}

TEST(CountdownExpressionTest, RejectsWhatIsNotInTheGrammar) {
  for (const char* text : {"", "1+", "(1+2", "1+2)", "-1+2", "2**3", "2^3", "1 2", "abs(3)",
                           "__import__('os')", "1.5+2", "3=3", "()"}) {
    StatusOr<CountdownEvaluation> eval = EvaluateCountdownExpression(text);
    EXPECT_FALSE(eval.ok()) << text;
    EXPECT_EQ(eval.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(CountdownExpressionTest, SyntaxErrorNamesThePosition) {
  StatusOr<CountdownEvaluation> eval = EvaluateCountdownExpression("12+x");
  ASSERT_FALSE(eval.ok());
  EXPECT_NE(std::string(eval.status().message()).find("position 3"), std::string::npos)
      << eval.status();
}

TEST(CountdownExpressionTest, DivisionByZeroIsAnEvaluationErrorNotASyntaxError) {
  StatusOr<CountdownEvaluation> eval = EvaluateCountdownExpression("5/(3-3)");
  ASSERT_TRUE(eval.ok());
  EXPECT_FALSE(eval->value.has_value());
  EXPECT_EQ(eval->error, "division by zero");
  EXPECT_EQ(eval->numbers, (std::vector<int64_t>{5, 3, 3}));
}

TEST(CountdownExpressionTest, EnforcesBounds) {
  std::string deep =
      std::string(kMaxCountdownDepth + 1, '(') + "1" + std::string(kMaxCountdownDepth + 1, ')');
  EXPECT_FALSE(EvaluateCountdownExpression(deep).ok());
  std::string ok_depth =
      std::string(kMaxCountdownDepth, '(') + "1" + std::string(kMaxCountdownDepth, ')');
  EXPECT_TRUE(EvaluateCountdownExpression(ok_depth).ok());
  std::string many = "1";
  for (int i = 0; i < kMaxCountdownNumbers; ++i) many += "+1";
  EXPECT_FALSE(EvaluateCountdownExpression(many).ok());
  EXPECT_FALSE(EvaluateCountdownExpression(std::string(kMaxCountdownChars + 1, ' ')).ok());
  EXPECT_FALSE(EvaluateCountdownExpression("99999999999999999999+1").ok());
}

TEST(CountdownExpressionTest, OverflowIsAnEvaluationError) {
  StatusOr<CountdownEvaluation> eval =
      EvaluateCountdownExpression("999999999999*999999999999*999999999999");
  ASSERT_TRUE(eval.ok());
  EXPECT_FALSE(eval->value.has_value());
  EXPECT_EQ(eval->error, "arithmetic overflow");
}

}  // namespace
}  // namespace lightrl
