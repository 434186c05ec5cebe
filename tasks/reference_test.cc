#include "tasks/reference.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace lightrl {
namespace {

void ExpectError(const std::string& json, const std::string& fragment) {
  StatusOr<Reference> ref = ParseReference(json);
  ASSERT_FALSE(ref.ok()) << json;
  EXPECT_EQ(ref.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(ref.status().message()).find(fragment), std::string::npos)
      << "message: " << ref.status().message() << "\nexpected to contain: " << fragment;
}

TEST(ReferenceTest, RoundTripsEveryKind) {
  Reference code;
  code.kind = VerifierKind::kCode;
  code.code.language = CodeLanguage::kCpp;
  code.code.cases = {{"1 2\n", "3\n"}, {"", "0\n"}};
  code.code.time_limit_ms = 1500;
  Reference python;
  python.kind = VerifierKind::kCode;
  python.code.test_script = "def test_a():\n    assert f() == 1\n";
  python.code.memory_limit_mb = 64;
  Reference exact;
  exact.answer = "122";
  Reference math;
  math.kind = VerifierKind::kMath;
  math.answer = "\\frac{3}{4}";
  Reference countdown;
  countdown.kind = VerifierKind::kCountdown;
  countdown.numbers = {25, 5, 4, 3};
  countdown.target = 83;
  Reference sorting;
  sorting.kind = VerifierKind::kSorting;
  sorting.expected = {1, 3, 5, 9};
  for (const Reference& ref : {exact, math, countdown, sorting, code, python}) {
    std::string json = SerializeReference(ref);
    StatusOr<Reference> back = ParseReference(json);
    ASSERT_TRUE(back.ok()) << json << ": " << back.status();
    EXPECT_EQ(SerializeReference(*back), json);
    EXPECT_EQ(back->kind, ref.kind);
  }
}

TEST(ReferenceTest, SerializesOnlyTheFieldsOfTheKind) {
  Reference ref;
  ref.answer = "122";
  ref.target = 5;  // Not a field of "exact": must not appear.
  EXPECT_EQ(SerializeReference(ref), R"({"answer":"122","verifier":"exact"})");
}

TEST(ReferenceTest, ParsesCodeFields) {
  StatusOr<Reference> ref = ParseReference(
      R"({"verifier":"code","language":"shell","tests":[{"stdin":"a","stdout":"b"},{"stdout":"c"}],"time_limit_ms":10})");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->code.language, CodeLanguage::kShell);
  ASSERT_EQ(ref->code.cases.size(), 2u);
  EXPECT_EQ(ref->code.cases[0].stdin_text, "a");
  EXPECT_EQ(ref->code.cases[1].stdin_text, "");
  EXPECT_EQ(ref->code.cases[1].expected_stdout, "c");
  EXPECT_EQ(ref->code.time_limit_ms, 10);
}

TEST(ReferenceTest, ErrorsNameTheField) {
  ExpectError("not json", "not valid JSON");
  ExpectError("[1,2]", "must be a JSON object");
  ExpectError(R"({"answer":"1"})", "'verifier' is missing");
  ExpectError(R"({"verifier":"magic"})", "'verifier' has unknown value 'magic'");
  ExpectError(R"({"verifier":"exact"})", "'answer' is missing");
  ExpectError(R"({"verifier":"exact","answer":12})", "'answer' must be a string");
  ExpectError(R"({"verifier":"exact","answer":""})", "'answer' must not be empty");
  ExpectError(R"({"verifier":"exact","answer":"1","anwser":"2"})",
              "'anwser' is not a field of a 'exact' reference");
  ExpectError(R"({"verifier":"countdown","numbers":[1,2],"target":"3"})",
              "'target' must be an integer");
  ExpectError(R"({"verifier":"countdown","numbers":[1,"2"],"target":3})",
              "'numbers' must be an array of integers");
  ExpectError(R"({"verifier":"countdown","numbers":[],"target":3})", "'numbers' must hold");
  ExpectError(R"({"verifier":"sorting","expected":[3,1]})", "'expected' must be in ascending");
  ExpectError(R"({"verifier":"code","language":"java","tests":[{"stdout":""}]})",
              "'language' has unknown value 'java'");
  ExpectError(R"({"verifier":"code"})", "'tests' or 'test_script' must be given");
  ExpectError(R"({"verifier":"code","tests":[{"stdin":"1"}]})", "'tests[0].stdout' is missing");
  ExpectError(R"({"verifier":"code","tests":[{"stdout":"1","input":"x"}]})",
              "'tests[0].input' is not a known field");
  ExpectError(R"({"verifier":"code","tests":{"stdout":"1"}})", "'tests' must be an array");
  ExpectError(R"({"verifier":"code","language":"cpp","test_script":"x"})",
              "'test_script' is supported for language 'python' only");
  ExpectError(R"({"verifier":"code","tests":[{"stdout":"1"}],"time_limit_ms":-1})",
              "'time_limit_ms' must not be negative");
}

TEST(ReferenceTest, InfersVerifierOnlyWhenAsked) {
  nlohmann::json code = {{"tests", {{{"stdout", "1"}}}}, {"prompt", "p"}};
  StatusOr<Reference> ref = ReferenceFromJson(code, {"prompt"}, /*infer_verifier=*/true);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->kind, VerifierKind::kCode);
  nlohmann::json exact = {{"answer", "4"}};
  ref = ReferenceFromJson(exact, {}, /*infer_verifier=*/true);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->kind, VerifierKind::kExact);
  EXPECT_FALSE(ReferenceFromJson(exact, {}, /*infer_verifier=*/false).ok());
  EXPECT_FALSE(ReferenceFromJson(code, {}, /*infer_verifier=*/true).ok());  // "prompt" unknown.
}

TEST(ReferenceTest, NamesRoundTrip) {
  for (VerifierKind kind : {VerifierKind::kExact, VerifierKind::kMath, VerifierKind::kCountdown,
                            VerifierKind::kSorting, VerifierKind::kCode}) {
    EXPECT_EQ(ParseVerifierKind(VerifierKindName(kind)), kind);
  }
  for (CodeLanguage lang : {CodeLanguage::kPython, CodeLanguage::kCpp, CodeLanguage::kShell}) {
    EXPECT_EQ(ParseCodeLanguage(CodeLanguageName(lang)), lang);
  }
  EXPECT_FALSE(ParseCodeLanguage("Python").has_value());
}

TEST(ReferenceTest, ExactCompareTextRoundTripsAndRejectsOtherModes) {
  auto ref = ParseReference(R"({"verifier":"exact","answer":"08","compare":"text"})");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_TRUE(ref->compare_text);
  auto again = ParseReference(SerializeReference(*ref));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->compare_text);
  EXPECT_FALSE(ParseReference(R"({"verifier":"exact","answer":"8"})")->compare_text);
  auto bad = ParseReference(R"({"verifier":"exact","answer":"8","compare":"fuzzy"})");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("compare"), std::string::npos);
}

}  // namespace
}  // namespace lightrl
