// Judging a program against a code reference in the sandbox.
//
// C++ is compiled in the sandbox first (g++ with its own compile limits; any failure,
// including a compile timeout or compiler output over the cap, is compile_error). Each
// stdin/stdout case is then one run in a fresh box; the output matches when it equals the
// expected output after trailing whitespace is removed from every line and trailing blank
// lines are dropped. A Python test script runs in one more run through a fixed driver that
// executes the candidate and then the tests, and prints a result record tagged with a
// random per-run nonce: a run without that record (an early exit(0), a crash of the
// interpreter) has not passed. docs/tasks.md has the details.
//
// Thread-safety: Judge may be called concurrently; it blocks for a sandbox slot per run.
#ifndef LIGHTRL_REWARD_CODE_JUDGE_H_
#define LIGHTRL_REWARD_CODE_JUDGE_H_

#include <string>
#include <string_view>
#include <vector>

#include "sandbox/sandbox.h"
#include "tasks/reference.h"
#include "tasks/verdict.h"

namespace lightrl {

struct CodeJudgeConfig {
  // Limits of each test run; a reference's time_limit_ms / memory_limit_mb override
  // wall_ms and cpu_ms / memory_bytes.
  RunLimits run_limits;
  // Limits of the C++ compile run.
  RunLimits compile_limits = [] {
    RunLimits l;
    l.wall_ms = 30000;
    l.cpu_ms = 30000;
    l.memory_bytes = 1024 * kMiB;
    l.output_bytes = 64 * 1024;
    return l;
  }();
  std::string python = "/usr/bin/python3";
  std::string shell = "/bin/bash";
  std::string cxx = "/usr/bin/g++";
  std::vector<std::string> cxx_flags = {"-std=c++17", "-O2", "-pipe"};

  Status Validate() const;
};

struct Judgement {
  Verdict verdict = Verdict::kSandboxError;
  int passed = 0;  // Tests passed: stdin/stdout cases plus test-script tests.
  int total = 0;   // Tests in the reference (every case counts even when not run).
  std::string details;
};

// The verdict of a finished run of the program under test: kCorrect when it exited 0
// (its output still has to be checked), else timeout, memory_limit, output_limit or
// runtime_error.
Verdict VerdictForRun(const RunResult& result);

// Lines compared with trailing whitespace and trailing blank lines removed.
bool OutputMatches(std::string_view expected, std::string_view actual);

class CodeJudge {
 public:
  // `sandbox` must outlive the judge. `config` must be valid.
  CodeJudge(Sandbox* sandbox, CodeJudgeConfig config);

  // Judges `code` against `spec`. With `stop_at_first_failure` the remaining tests are
  // not run once one fails (they count as failed). Never returns kCorrect unless every
  // test passed; a sandbox error is kSandboxError.
  Judgement Judge(const CodeSpec& spec, const std::string& code, bool stop_at_first_failure) const;

 private:
  struct Program;
  Program Build(const CodeSpec& spec, const std::string& code, Judgement* failure) const;
  RunLimits LimitsFor(const CodeSpec& spec) const;

  Sandbox* sandbox_;
  CodeJudgeConfig config_;
};

}  // namespace lightrl

#endif  // LIGHTRL_REWARD_CODE_JUDGE_H_
