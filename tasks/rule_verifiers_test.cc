#include "tasks/rule_verifiers.h"

#include <gtest/gtest.h>

#include <string>

namespace lightrl {
namespace {

Verdict ExactVerdict(const std::string& answer, const std::string& completion) {
  return VerifyExact(answer, completion).verdict;
}

TEST(VerifyExactTest, NumericAnswers) {
  EXPECT_EQ(ExactVerdict("122", "122"), Verdict::kCorrect);
  EXPECT_EQ(ExactVerdict("122", " 122\n"), Verdict::kCorrect);
  EXPECT_EQ(ExactVerdict("122", "122.0"), Verdict::kCorrect);
  EXPECT_EQ(ExactVerdict("0.5", "1/2"), Verdict::kCorrect);
  EXPECT_EQ(ExactVerdict("122", "121"), Verdict::kIncorrect);
  EXPECT_EQ(ExactVerdict("122", "12a"), Verdict::kFormatError);
  EXPECT_EQ(ExactVerdict("122", ""), Verdict::kFormatError);
  EXPECT_EQ(ExactVerdict("122", "122 apples"), Verdict::kFormatError);
}

TEST(VerifyExactTest, TextComparisonKeepsLeadingZeros) {
  EXPECT_EQ(VerifyExact("08", "8").verdict, Verdict::kCorrect);  // By value.
  EXPECT_EQ(VerifyExact("08", "8", /*compare_text=*/true).verdict, Verdict::kIncorrect);
  EXPECT_EQ(VerifyExact("08", " 08 ", /*compare_text=*/true).verdict, Verdict::kCorrect);
}

TEST(VerifyExactTest, ScoreAndDetails) {
  Verification v = VerifyExact("122", "121");
  EXPECT_EQ(v.score, 0.0);
  EXPECT_EQ(v.details, "expected 122, got 121");
  v = VerifyExact("122", "122");
  EXPECT_EQ(v.score, 1.0);
}

TEST(VerifyExactTest, TextAnswersCollapseWhitespace) {
  EXPECT_EQ(ExactVerdict("New York", "  New   York "), Verdict::kCorrect);
  EXPECT_EQ(ExactVerdict("New York", "new york"), Verdict::kIncorrect);
}

TEST(VerifyMathTest, ComparesBoxedAnswersByValue) {
  EXPECT_EQ(VerifyMath("3/4", "so \\boxed{\\frac{3}{4}}").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifyMath("\\frac{3}{4}", "\\boxed{0.75}").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifyMath("-\\dfrac{1}{2}", "\\boxed{ -0.5 }").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifyMath("\\boxed{12}", "$\\boxed{12.}$").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifyMath("1000", "\\boxed{1,000}").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifyMath("3/4", "\\boxed{0.7}").verdict, Verdict::kIncorrect);
}

TEST(VerifyMathTest, UsesTheLastBoxAndBalancesBraces) {
  EXPECT_EQ(VerifyMath("5", "\\boxed{4} no wait \\boxed{5}").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifyMath("5", "\\boxed{5} no wait \\boxed{4}").verdict, Verdict::kIncorrect);
  EXPECT_EQ(ExtractLastBoxed("\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
  EXPECT_EQ(ExtractLastBoxed("a \\boxed{x} b \\boxed{y"), "x");
}

TEST(VerifyMathTest, SymbolicAnswersCompareAsNormalizedText) {
  EXPECT_EQ(VerifyMath("x+1", "\\boxed{x + 1}").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifyMath("\\left(1,2\\right)", "\\boxed{(1, 2)}").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifyMath("x+1", "\\boxed{x+2}").verdict, Verdict::kIncorrect);
}

TEST(VerifyMathTest, MissingBoxIsAFormatError) {
  EXPECT_EQ(VerifyMath("5", "the answer is 5").verdict, Verdict::kFormatError);
  EXPECT_EQ(VerifyMath("5", "\\boxed{5").verdict, Verdict::kFormatError);
  EXPECT_EQ(VerifyMath("5", "\\boxed{ }").verdict, Verdict::kFormatError);
}

TEST(VerifyCountdownTest, AcceptsOnlyExactUseOfTheNumbers) {
  std::vector<int64_t> numbers = {25, 5, 4, 3};
  EXPECT_EQ(VerifyCountdown(numbers, 83, "(25-5)*4+3").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifyCountdown(numbers, 83, " 3+4*(25-5)\n").verdict, Verdict::kCorrect);
  Verification v = VerifyCountdown(numbers, 83, "(25-5)*4+4");
  EXPECT_EQ(v.verdict, Verdict::kIncorrect);
  EXPECT_NE(v.details.find("exactly once"), std::string::npos) << v.details;
  EXPECT_EQ(VerifyCountdown(numbers, 83, "(25-5)*4").verdict, Verdict::kIncorrect);
  v = VerifyCountdown(numbers, 83, "25+5+4+3");
  EXPECT_EQ(v.verdict, Verdict::kIncorrect);
  EXPECT_EQ(v.details, "evaluates to 37, target 83");
  EXPECT_EQ(VerifyCountdown({4, 2, 2}, 1, "4/(2-2)").verdict, Verdict::kIncorrect);
  EXPECT_EQ(VerifyCountdown(numbers, 83, "83").verdict, Verdict::kIncorrect);
  EXPECT_EQ(VerifyCountdown(numbers, 83, "import os").verdict, Verdict::kFormatError);
  EXPECT_EQ(VerifyCountdown(numbers, 83, "").verdict, Verdict::kFormatError);
}

TEST(VerifySortingTest, ParsesSpaceOrCommaSeparatedIntegers) {
  std::vector<int64_t> expected = {1, 3, 5, 9};
  EXPECT_EQ(VerifySorting(expected, "1 3 5 9").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifySorting(expected, "1, 3, 5, 9\n").verdict, Verdict::kCorrect);
  EXPECT_EQ(VerifySorting(expected, "1 5 3 9").verdict, Verdict::kIncorrect);
  EXPECT_EQ(VerifySorting(expected, "1 3 5").verdict, Verdict::kIncorrect);
  EXPECT_EQ(VerifySorting(expected, "1 3 five 9").verdict, Verdict::kFormatError);
  EXPECT_EQ(VerifySorting(expected, "1 3 5 9.0").verdict, Verdict::kFormatError);
  EXPECT_EQ(VerifySorting(expected, "  ").verdict, Verdict::kFormatError);
}

TEST(VerifyByRuleTest, DispatchesAndRefusesCode) {
  StatusOr<Reference> ref = ParseReference(R"({"verifier":"sorting","expected":[2,7]})");
  ASSERT_TRUE(ref.ok());
  StatusOr<Verification> v = VerifyByRule(*ref, "2 7");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->verdict, Verdict::kCorrect);
  ref = ParseReference(R"({"verifier":"code","tests":[{"stdout":"1"}]})");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(VerifyByRule(*ref, "print(1)").status().code(), StatusCode::kFailedPrecondition);
}

TEST(VerdictTest, NamesRoundTrip) {
  for (int i = 0; i < kNumVerdicts; ++i) {
    Verdict v = static_cast<Verdict>(i);
    EXPECT_EQ(ParseVerdict(VerdictName(v)), v);
  }
  EXPECT_EQ(VerdictName(Verdict::kFormatError), "format_error");
  EXPECT_FALSE(ParseVerdict("pass").has_value());
}

}  // namespace
}  // namespace lightrl
