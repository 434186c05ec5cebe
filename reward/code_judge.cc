#include "reward/code_judge.h"

#include <cstdio>
#include <random>
#include <sstream>

namespace lightrl {
namespace {

// Runs the candidate (main.py) and then the reference tests (test.py) in one interpreter,
// and prints "LIGHTRL-RESULT <nonce> <outcome>" through a private copy of stdout. The
// nonce arrives as the first stdin line, read before any candidate code runs; stdin is
// then /dev/null.
constexpr char kPythonDriver[] = R"PY(import os, sys
def _lightrl_main():
    nonce = sys.stdin.readline().strip()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = os.dup(1)
    def report(text):
        os.write(out, ("\nLIGHTRL-RESULT %s %s\n" % (nonce, text)).encode())
    def load(name):
        with open(name) as f:
            return compile(f.read(), name, "exec")
    try:
        candidate = load("main.py")
    except (SyntaxError, ValueError):
        report("compile_error")
        return
    namespace = {"__name__": "solution"}
    try:
        exec(candidate, namespace)
    except BaseException as e:
        report("load_error " + type(e).__name__)
        return
    try:
        exec(load("test.py"), namespace)
    except BaseException:
        report("0 1")
        return
    tests = [f for name, f in list(namespace.items())
             if name.startswith("test_") and callable(f)
             and getattr(getattr(f, "__code__", None), "co_filename", "") == "test.py"]
    if not tests:
        report("1 1")
        return
    passed = 0
    for test in tests:
        try:
            test()
            passed += 1
        except BaseException:
            pass
    report("%d %d" % (passed, len(tests)))
_lightrl_main()
)PY";

constexpr char kRecordTag[] = "LIGHTRL-RESULT ";

std::string Nonce() {
  std::random_device device;
  char out[33];
  for (int i = 0; i < 4; ++i) std::snprintf(out + 8 * i, 9, "%08x", device());
  return out;
}

std::vector<std::string> NormalizedLines(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    line.erase(line.find_last_not_of(" \t\r\f\v") + 1);
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 120;
  std::string out(s.substr(0, kMax));
  for (char& c : out) {
    if (c == '\n') c = '|';
  }
  return s.size() > kMax ? out + "..." : out;
}

std::string LastLine(std::string_view text) {
  std::vector<std::string> lines = NormalizedLines(text);
  return lines.empty() ? "" : lines.back();
}

bool PythonSyntaxError(const RunResult& r) {
  if (r.outcome != RunOutcome::kExited || r.exit_code != 1) return false;
  std::string last = LastLine(r.stderr_data);
  for (const char* kind : {"SyntaxError", "IndentationError", "TabError"}) {
    if (last.rfind(std::string(kind) + ":", 0) == 0) return true;
  }
  return false;
}

std::string RunFailure(const RunResult& r) {
  std::string out = r.Summary();
  std::string err = LastLine(r.stderr_data);
  return err.empty() ? out : out + ": " + Excerpt(err);
}

// Records the first failure; later ones only count.
void Fail(Judgement* j, Verdict verdict, const std::string& details) {
  if (j->verdict == Verdict::kCorrect) {
    j->verdict = verdict;
    j->details = details;
  }
}

}  // namespace

Status CodeJudgeConfig::Validate() const {
  Status s = run_limits.Validate();
  if (!s.ok()) return s.WithContext("CodeJudgeConfig.run_limits");
  s = compile_limits.Validate();
  if (!s.ok()) return s.WithContext("CodeJudgeConfig.compile_limits");
  for (const std::string* path : {&python, &shell, &cxx}) {
    if (path->empty() || (*path)[0] != '/') {
      return InvalidArgumentError("CodeJudgeConfig: interpreter path '" + *path +
                                  "' must be absolute");
    }
  }
  return Status::Ok();
}

Verdict VerdictForRun(const RunResult& result) {
  switch (result.outcome) {
    case RunOutcome::kWallTimeout:
    case RunOutcome::kCpuTimeout:
      return Verdict::kTimeout;
    case RunOutcome::kMemoryLimit:
      return Verdict::kMemoryLimit;
    case RunOutcome::kOutputLimit:
      return Verdict::kOutputLimit;
    case RunOutcome::kSignaled:
      return Verdict::kRuntimeError;
    case RunOutcome::kExited:
      break;
  }
  return result.exit_code == 0 ? Verdict::kCorrect : Verdict::kRuntimeError;
}

bool OutputMatches(std::string_view expected, std::string_view actual) {
  return NormalizedLines(expected) == NormalizedLines(actual);
}

struct CodeJudge::Program {
  bool ok = false;
  std::vector<std::string> argv;
  std::vector<RunFile> files;
};

CodeJudge::CodeJudge(Sandbox* sandbox, CodeJudgeConfig config)
    : sandbox_(sandbox), config_(std::move(config)) {}

RunLimits CodeJudge::LimitsFor(const CodeSpec& spec) const {
  RunLimits limits = config_.run_limits;
  if (spec.time_limit_ms > 0) limits.wall_ms = limits.cpu_ms = spec.time_limit_ms;
  if (spec.memory_limit_mb > 0) limits.memory_bytes = spec.memory_limit_mb * kMiB;
  return limits;
}

CodeJudge::Program CodeJudge::Build(const CodeSpec& spec, const std::string& code,
                                    Judgement* failure) const {
  Program p;
  switch (spec.language) {
    case CodeLanguage::kPython:
      p.argv = {config_.python, "main.py"};
      p.files = {{"main.py", code, false}};
      p.ok = true;
      return p;
    case CodeLanguage::kShell:
      p.argv = {config_.shell, "main.sh"};
      p.files = {{"main.sh", code, false}};
      p.ok = true;
      return p;
    case CodeLanguage::kCpp:
      break;
  }
  RunSpec compile;
  compile.argv = {config_.cxx};
  compile.argv.insert(compile.argv.end(), config_.cxx_flags.begin(), config_.cxx_flags.end());
  compile.argv.insert(compile.argv.end(), {"-o", "main", "main.cc"});
  compile.files = {{"main.cc", code, false}};
  compile.collect = {"main"};
  compile.limits = config_.compile_limits;
  StatusOr<RunResult> r = sandbox_->Run(compile);
  if (!r.ok()) {
    Fail(failure, Verdict::kSandboxError, "compile: " + std::string(r.status().message()));
    return p;
  }
  const CollectedFile* binary = r->File("main");
  if (VerdictForRun(*r) != Verdict::kCorrect || binary == nullptr || binary->error != 0) {
    Fail(failure, Verdict::kCompileError, "compile: " + RunFailure(*r));
    return p;
  }
  p.argv = {"/box/main"};
  p.files = {{"main", binary->contents, true}};
  p.ok = true;
  return p;
}

Judgement CodeJudge::Judge(const CodeSpec& spec, const std::string& code,
                           bool stop_at_first_failure) const {
  Judgement j;
  j.verdict = Verdict::kCorrect;
  bool has_script = !spec.test_script.empty();
  j.total = static_cast<int>(spec.cases.size()) + (has_script ? 1 : 0);
  Program program = Build(spec, code, &j);
  if (!program.ok) return j;
  RunLimits limits = LimitsFor(spec);
  auto stop = [&] {
    return j.verdict == Verdict::kSandboxError ||
           (stop_at_first_failure && j.verdict != Verdict::kCorrect);
  };
  for (size_t i = 0; i < spec.cases.size() && !stop(); ++i) {
    const IoCase& io = spec.cases[i];
    RunSpec run{program.argv, {}, program.files, io.stdin_text, {}, limits};
    StatusOr<RunResult> r = sandbox_->Run(run);
    std::string where = "test " + std::to_string(i + 1) + ": ";
    if (!r.ok()) {
      Fail(&j, Verdict::kSandboxError, where + std::string(r.status().message()));
    } else if (spec.language == CodeLanguage::kPython && PythonSyntaxError(*r)) {
      Fail(&j, Verdict::kCompileError, where + LastLine(r->stderr_data));
    } else if (Verdict v = VerdictForRun(*r); v != Verdict::kCorrect) {
      Fail(&j, v, where + RunFailure(*r));
    } else if (!OutputMatches(io.expected_stdout, r->stdout_data)) {
      Fail(&j, Verdict::kIncorrect,
           where + "expected '" + Excerpt(io.expected_stdout) + "', got '" +
               Excerpt(r->stdout_data) + "'");
    } else {
      ++j.passed;
    }
  }
  if (!has_script || stop()) return j;

  std::string nonce = Nonce();
  RunSpec run{{config_.python, "-I", "driver.py"},
              {},
              {{"main.py", code, false},
               {"test.py", spec.test_script, false},
               {"driver.py", kPythonDriver, false}},
              nonce + "\n",
              {},
              limits};
  StatusOr<RunResult> r = sandbox_->Run(run);
  if (!r.ok()) {
    Fail(&j, Verdict::kSandboxError, "test script: " + std::string(r.status().message()));
    return j;
  }
  std::string record;
  const std::string tag = std::string(kRecordTag) + nonce + " ";
  for (const std::string& line : NormalizedLines(r->stdout_data)) {
    if (line.rfind(tag, 0) == 0) record = line.substr(tag.size());
  }
  int passed = 0, total = 0;
  if (record.empty()) {
    Verdict v = VerdictForRun(*r);
    Fail(&j, v == Verdict::kCorrect ? Verdict::kIncorrect : v,
         "test script: no result from the test driver (" + RunFailure(*r) + ")");
  } else if (record == "compile_error") {
    Fail(&j, Verdict::kCompileError,
         "test script: the candidate does not compile: " + Excerpt(LastLine(r->stderr_data)));
  } else if (record.rfind("load_error ", 0) == 0) {
    std::string error = record.substr(11);
    Fail(&j, error == "SystemExit" ? Verdict::kIncorrect : Verdict::kRuntimeError,
         "test script: the candidate raised " + error + " before the tests");
  } else if (std::sscanf(record.c_str(), "%d %d", &passed, &total) == 2 && total > 0 &&
             passed >= 0 && passed <= total) {
    j.total += total - 1;
    j.passed += passed;
    if (passed < total) {
      Fail(&j, Verdict::kIncorrect,
           "test script: " + std::to_string(passed) + " of " + std::to_string(total) +
               " tests passed");
    }
  } else {
    Fail(&j, Verdict::kSandboxError, "test script: malformed driver record '" + record + "'");
  }
  return j;
}

}  // namespace lightrl
