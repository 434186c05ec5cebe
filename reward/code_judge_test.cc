#include "reward/code_judge.h"

#include <gtest/gtest.h>

#include "sandbox/sandbox_test_util.h"

namespace lightrl {
namespace {

TEST(OutputMatchesTest, IgnoresTrailingWhitespaceOnly) {
  EXPECT_TRUE(OutputMatches("3\n", "3"));
  EXPECT_TRUE(OutputMatches("1 2\n3\n", "1 2  \n3\n\n\n"));
  EXPECT_TRUE(OutputMatches("a\r\n", "a\n"));
  EXPECT_FALSE(OutputMatches("1 2\n", "1  2\n"));
  EXPECT_FALSE(OutputMatches("1\n\n2\n", "1\n2\n"));
  EXPECT_FALSE(OutputMatches("3\n", ""));
}

TEST(VerdictForRunTest, MapsEveryOutcome) {
  RunResult r;
  r.outcome = RunOutcome::kExited;
  r.exit_code = 0;
  EXPECT_EQ(VerdictForRun(r), Verdict::kCorrect);
  r.exit_code = 1;
  EXPECT_EQ(VerdictForRun(r), Verdict::kRuntimeError);
  r.outcome = RunOutcome::kSignaled;
  EXPECT_EQ(VerdictForRun(r), Verdict::kRuntimeError);
  r.outcome = RunOutcome::kWallTimeout;
  EXPECT_EQ(VerdictForRun(r), Verdict::kTimeout);
  r.outcome = RunOutcome::kCpuTimeout;
  EXPECT_EQ(VerdictForRun(r), Verdict::kTimeout);
  r.outcome = RunOutcome::kMemoryLimit;
  EXPECT_EQ(VerdictForRun(r), Verdict::kMemoryLimit);
  r.outcome = RunOutcome::kOutputLimit;
  EXPECT_EQ(VerdictForRun(r), Verdict::kOutputLimit);
}

class CodeJudgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox_ = CreateOrFail(SmallSandboxConfig(2));
    ASSERT_NE(sandbox_, nullptr);
    CodeJudgeConfig config;
    config.run_limits = sandbox_->config().default_limits;
    config.compile_limits.wall_ms = config.compile_limits.cpu_ms = 20000;
    ASSERT_TRUE(config.Validate().ok());
    judge_ = std::make_unique<CodeJudge>(sandbox_.get(), config);
  }
  void TearDown() override {
    judge_.reset();
    DestroyAndCheckClean(std::move(sandbox_));
  }

  static CodeSpec Io(CodeLanguage language, std::vector<IoCase> cases) {
    CodeSpec spec;
    spec.language = language;
    spec.cases = std::move(cases);
    return spec;
  }

  static CodeSpec Script(const std::string& script) {
    CodeSpec spec;
    spec.test_script = script;
    return spec;
  }

  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<CodeJudge> judge_;
};

const std::vector<IoCase> kAddCases = {{"1 2\n", "3\n"}, {"5 5\n", "10\n"}, {"0 7\n", "7\n"}};
constexpr char kPythonAdd[] = "a, b = map(int, input().split())\nprint(a + b)\n";

TEST_F(CodeJudgeTest, PythonPassesEveryCase) {
  Judgement j = judge_->Judge(Io(CodeLanguage::kPython, kAddCases), kPythonAdd, true);
  EXPECT_EQ(j.verdict, Verdict::kCorrect) << j.details;
  EXPECT_EQ(j.passed, 3);
  EXPECT_EQ(j.total, 3);
}

TEST_F(CodeJudgeTest, WrongOutputNamesTheCaseAndCanStopEarly) {
  // Right for the first and the last case only.
  std::string code = "a, b = map(int, input().split())\nprint(a + b if a != 5 else 11)\n";
  Judgement stop = judge_->Judge(Io(CodeLanguage::kPython, kAddCases), code, true);
  EXPECT_EQ(stop.verdict, Verdict::kIncorrect);
  EXPECT_EQ(stop.details, "test 2: expected '10|', got '11|'");
  EXPECT_EQ(stop.passed, 1);
  EXPECT_EQ(stop.total, 3);
  Judgement all = judge_->Judge(Io(CodeLanguage::kPython, kAddCases), code, false);
  EXPECT_EQ(all.verdict, Verdict::kIncorrect);
  EXPECT_EQ(all.passed, 2);
}

TEST_F(CodeJudgeTest, PythonFailuresGetTheirVerdicts) {
  CodeSpec spec = Io(CodeLanguage::kPython, {{"1 2\n", "3\n"}});
  EXPECT_EQ(judge_->Judge(spec, "print(1 +\n", true).verdict, Verdict::kCompileError);
  EXPECT_EQ(judge_->Judge(spec, "raise ValueError('x')\n", true).verdict, Verdict::kRuntimeError);
  EXPECT_EQ(judge_->Judge(spec, "print('x' * 10**6)\n", true).verdict, Verdict::kOutputLimit);
  spec.time_limit_ms = 300;
  Judgement slow = judge_->Judge(spec, "while True: pass\n", true);
  EXPECT_EQ(slow.verdict, Verdict::kTimeout) << slow.details;
  spec.memory_limit_mb = 32;
  Judgement big = judge_->Judge(spec, "x = bytearray(200 * 1024 * 1024)\n", true);
  EXPECT_EQ(big.verdict, Verdict::kMemoryLimit) << big.details;
}

TEST_F(CodeJudgeTest, ShellAndCpp) {
  Judgement sh =
      judge_->Judge(Io(CodeLanguage::kShell, kAddCases), "read a b\necho $((a + b))\n", true);
  EXPECT_EQ(sh.verdict, Verdict::kCorrect) << sh.details;
  CodeSpec cpp = Io(CodeLanguage::kCpp, kAddCases);
  Judgement ok =
      judge_->Judge(cpp,
                    "#include <cstdio>\nint main() { int a, b; scanf(\"%d %d\", &a, &b); "
                    "printf(\"%d\\n\", a + b); }\n",
                    true);
  EXPECT_EQ(ok.verdict, Verdict::kCorrect) << ok.details;
  Judgement bad = judge_->Judge(cpp, "int main() { return undefined_name; }\n", true);
  EXPECT_EQ(bad.verdict, Verdict::kCompileError);
  EXPECT_NE(bad.details.find("compile: exited 1"), std::string::npos) << bad.details;
  EXPECT_EQ(bad.passed, 0);
  EXPECT_EQ(bad.total, 3);
}

constexpr char kAddTests[] =
    "def test_small():\n    assert add(1, 2) == 3\n"
    "def test_negative():\n    assert add(-1, -1) == -2\n";

TEST_F(CodeJudgeTest, TestScriptCountsTestFunctions) {
  Judgement ok = judge_->Judge(Script(kAddTests), "def add(a, b):\n    return a + b\n", true);
  EXPECT_EQ(ok.verdict, Verdict::kCorrect) << ok.details;
  EXPECT_EQ(ok.passed, 2);
  EXPECT_EQ(ok.total, 2);
  Judgement half =
      judge_->Judge(Script(kAddTests), "def add(a, b):\n    return abs(a + b)\n", true);
  EXPECT_EQ(half.verdict, Verdict::kIncorrect);
  EXPECT_EQ(half.passed, 1);
  EXPECT_EQ(half.total, 2);
}

TEST_F(CodeJudgeTest, TestScriptWithoutFunctionsIsOneTest) {
  CodeSpec spec = Script("assert add(2, 2) == 4\n");
  EXPECT_EQ(judge_->Judge(spec, "def add(a, b): return a + b\n", true).verdict, Verdict::kCorrect);
  Judgement wrong = judge_->Judge(spec, "def add(a, b): return a * b + 1\n", true);
  EXPECT_EQ(wrong.verdict, Verdict::kIncorrect);
  EXPECT_EQ(wrong.total, 1);
}

TEST_F(CodeJudgeTest, CandidateCannotAddOrForgeTests) {
  // Extra test_ functions from the candidate do not count.
  Judgement extra = judge_->Judge(
      Script(kAddTests), "def add(a, b): return 0\ndef test_free(): pass\ndef test_free2(): pass\n",
      true);
  EXPECT_EQ(extra.verdict, Verdict::kIncorrect);
  EXPECT_EQ(extra.passed, 0);
  EXPECT_EQ(extra.total, 2);
  // A printed record without the run's nonce is ignored.
  Judgement forged = judge_->Judge(
      Script(kAddTests),
      "print('LIGHTRL-RESULT 00000000000000000000000000000000 2 2')\nimport os\nos._exit(0)\n",
      true);
  EXPECT_EQ(forged.verdict, Verdict::kIncorrect) << forged.details;
  EXPECT_EQ(forged.passed, 0);
}

TEST_F(CodeJudgeTest, CandidateErrorsBeforeTheTests) {
  EXPECT_EQ(judge_->Judge(Script(kAddTests), "def add(a, b)\n", true).verdict,
            Verdict::kCompileError);
  Judgement raised = judge_->Judge(Script(kAddTests), "raise KeyError('k')\n", true);
  EXPECT_EQ(raised.verdict, Verdict::kRuntimeError);
  EXPECT_NE(raised.details.find("KeyError"), std::string::npos) << raised.details;
}

TEST_F(CodeJudgeTest, CasesAndScriptTogether) {
  CodeSpec spec = Script(kAddTests);
  spec.cases = {{"", "ready\n"}};
  Judgement j = judge_->Judge(spec, "def add(a, b): return a + b\nprint('ready')\n", false);
  EXPECT_EQ(j.verdict, Verdict::kCorrect) << j.details;
  EXPECT_EQ(j.passed, 3);
  EXPECT_EQ(j.total, 3);
}

}  // namespace
}  // namespace lightrl
