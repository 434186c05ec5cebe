#include "sandbox/sandbox.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "sandbox/sandbox_test_util.h"

namespace lightrl {
namespace {

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(SmallSandboxConfig(2)); }
  void TearDown() override { DestroyAndCheckClean(std::move(sandbox_)); }

  void Make(const SandboxConfig& config) {
    DestroyAndCheckClean(std::move(sandbox_));
    sandbox_ = CreateOrFail(config);
    ASSERT_NE(sandbox_, nullptr);
  }

  RunResult RunOk(const RunSpec& spec) {
    StatusOr<RunResult> r = sandbox_->Run(spec);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(r).value() : RunResult();
  }

  static RunSpec Python(const std::string& code, const std::string& stdin_data = "") {
    RunSpec spec;
    spec.argv = {"/usr/bin/python3", "main.py"};
    spec.files = {{"main.py", code, false}};
    spec.stdin_data = stdin_data;
    return spec;
  }

  static RunSpec Shell(const std::string& script) {
    RunSpec spec;
    spec.argv = {"/bin/bash", "-c", script};
    return spec;
  }

  std::unique_ptr<Sandbox> sandbox_;
};

TEST_F(SandboxTest, RunsPythonWithStdinAndCapturesBothStreams) {
  RunResult r =
      RunOk(Python("import sys\nline = input()\nprint(line[::-1])\nprint('warn', file=sys.stderr)\n"
                   "sys.exit(3)\n",
                   "hello\n"));
  EXPECT_EQ(r.outcome, RunOutcome::kExited) << r.Summary();
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.stdout_data, "olleh\n");
  EXPECT_EQ(r.stderr_data, "warn\n");
  EXPECT_GE(r.cpu_ms, 0);
  EXPECT_GT(r.peak_memory_bytes, 0);
}

TEST_F(SandboxTest, RunsShellInTheWorkDir) {
  RunSpec spec;
  spec.argv = {"/bin/bash", "main.sh"};
  spec.files = {{"main.sh", "echo hi | tr a-z A-Z\npwd\nls\n", false}};
  RunResult r = RunOk(spec);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "HI\n/box\nmain.sh\n");
}

TEST_F(SandboxTest, CompilesCppInsideTheBoxAndRunsTheBinary) {
  RunSpec compile;
  compile.argv = {"/usr/bin/g++", "-O1", "-o", "main", "main.cc"};
  compile.files = {{"main.cc",
                    "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; "
                    "std::cout << a * b << '\\n'; }\n",
                    false}};
  compile.collect = {"main"};
  RunLimits compile_limits = sandbox_->config().default_limits;
  compile_limits.wall_ms = compile_limits.cpu_ms = 20000;
  compile_limits.memory_bytes = 512 * kMiB;
  compile.limits = compile_limits;
  RunResult built = RunOk(compile);
  ASSERT_EQ(built.exit_code, 0) << built.Summary() << built.stderr_data;
  ASSERT_NE(built.File("main"), nullptr);
  ASSERT_EQ(built.File("main")->error, 0);
  RunSpec run;
  run.argv = {"/box/main"};
  run.files = {{"main", built.File("main")->contents, true}};
  run.stdin_data = "6 7\n";
  RunResult r = RunOk(run);
  EXPECT_EQ(r.stdout_data, "42\n") << r.Summary() << r.stderr_data;
}

TEST_F(SandboxTest, ExecutableFilesAndCollectedOutputs) {
  RunSpec spec;
  spec.argv = {"/box/run.sh", "x"};
  spec.files = {{"run.sh", "#!/bin/sh\necho \"$1$1\" > out.txt\nhead -c 3 /dev/zero > z\n", true},
                {"data.txt", "ignored", false}};
  spec.collect = {"out.txt", "z", "data.txt"};
  RunResult r = RunOk(spec);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.File("out.txt")->contents, "xx\n");
  EXPECT_EQ(r.File("z")->contents, std::string(3, '\0'));
  EXPECT_EQ(r.File("data.txt")->contents, "ignored");
}

TEST_F(SandboxTest, CollectedFilesOverTheCapAreRefused) {
  RunSpec spec = Shell("head -c 2000 /dev/zero > big");
  spec.collect = {"big"};
  RunLimits l = sandbox_->config().default_limits;
  l.collect_bytes = 1000;
  spec.limits = l;
  RunResult r = RunOk(spec);
  EXPECT_EQ(r.File("big")->error, EFBIG);
  EXPECT_EQ(r.File("big")->contents, "");
}

TEST_F(SandboxTest, EnvironmentIsTheAllowlistPlusTheSpec) {
  RunSpec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = {"EXTRA=1"};
  RunResult r = RunOk(spec);
  std::string want;
  for (const std::string& e : sandbox_->config().env) want += e + "\n";
  EXPECT_EQ(r.stdout_data, want + "EXTRA=1\n");
}

TEST_F(SandboxTest, RunsUnprivilegedAsItsSlotUid) {
  RunResult r =
      RunOk(Shell("id -u; id -G; grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' "
                  "/proc/self/status; hostname; ls /proc | grep -c '^[0-9]'"));
  std::vector<uint32_t> uids = sandbox_->slot_uids();
  std::string uid = r.stdout_data.substr(0, r.stdout_data.find('\n'));
  EXPECT_TRUE(uid == std::to_string(uids[0]) || uid == std::to_string(uids[1])) << uid;
  EXPECT_NE(r.stdout_data.find("\n" + uid + "\n"), std::string::npos) << "gid = uid, no groups";
  EXPECT_NE(r.stdout_data.find("CapEff:\t0000000000000000"), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find("CapBnd:\t0000000000000000"), std::string::npos);
  EXPECT_NE(r.stdout_data.find("NoNewPrivs:\t1"), std::string::npos);
  EXPECT_NE(r.stdout_data.find("Seccomp:\t2"), std::string::npos);
  EXPECT_NE(r.stdout_data.find("sandbox\n"), std::string::npos) << "own hostname";
  // bash, grep, ls and the pipeline's processes: no host process and not the zygote.
  int visible =
      std::stoi(r.stdout_data.substr(r.stdout_data.rfind('\n', r.stdout_data.size() - 2)));
  EXPECT_LE(visible, 4) << r.stdout_data;
}

TEST_F(SandboxTest, WorkDirsAreEmptyAgainAfterEveryRun) {
  SandboxConfig config = SmallSandboxConfig(1);
  Make(config);
  const std::string count = "find /box /tmp /dev/shm -mindepth 1 | wc -l";
  // A few files (emptied in place), then many files and deep trees (a new tmpfs), then an
  // attempt to change the work dir itself.
  for (const char* dirt :
       {"echo a > /box/a; mkdir -p /tmp/d/e; echo b > /tmp/d/e/b; ln -s /etc/passwd /box/l",
        "for i in $(seq 300); do : > /box/f$i; done; mkdir -p /tmp/1/2/3/4/5/6/7/8/9/10/11/12",
        "chmod 700 /box; chmod 700 /tmp"}) {
    RunSpec spec = Shell(dirt);
    spec.files = {{"input.txt", "x", false}};
    RunOk(spec);
    RunResult r = RunOk(Shell(count + "; stat -c %a /box /tmp /dev/shm"));
    EXPECT_EQ(r.stdout_data, "0\n1777\n1777\n1777\n") << "after: " << dirt;
  }
}

TEST_F(SandboxTest, LargeStdinArrivesWhole) {
  std::string input(3 * 1024 * 1024, 'x');
  RunResult r = RunOk(Python("import sys\nprint(len(sys.stdin.buffer.read()))\n", input));
  EXPECT_EQ(r.stdout_data, std::to_string(input.size()) + "\n") << r.stderr_data;
}

TEST_F(SandboxTest, OutputCapIsExact) {
  int64_t cap = sandbox_->config().default_limits.output_bytes;
  RunResult at = RunOk(Shell("head -c " + std::to_string(cap) + " /dev/zero"));
  EXPECT_EQ(at.outcome, RunOutcome::kExited) << at.Summary();
  EXPECT_EQ(at.stdout_data.size(), static_cast<size_t>(cap));
  RunResult over = RunOk(Shell("head -c " + std::to_string(cap + 1) + " /dev/zero"));
  EXPECT_EQ(over.outcome, RunOutcome::kOutputLimit) << over.Summary();
  EXPECT_EQ(over.stdout_data.size(), static_cast<size_t>(cap));
}

TEST_F(SandboxTest, FileSizeLimitStopsWriters) {
  int64_t limit = sandbox_->config().default_limits.file_size_bytes;
  RunResult r = RunOk(Shell("head -c " + std::to_string(limit + 1) + " /dev/zero > f"));
  EXPECT_NE(r.exit_code, 0) << r.Summary();
}

TEST_F(SandboxTest, InvalidSpecsAreRejectedWithTheField) {
  std::vector<std::pair<RunSpec, std::string>> cases;
  cases.push_back({RunSpec(), "argv is empty"});
  RunSpec relative;
  relative.argv = {"python3"};
  cases.push_back({relative, "argv[0] must be an absolute path"});
  RunSpec bad_name = Shell("true");
  bad_name.files = {{"../x", "", false}};
  cases.push_back({bad_name, "files name '../x'"});
  RunSpec duplicate = Shell("true");
  duplicate.files = {{"a", "", false}, {"a", "", false}};
  cases.push_back({duplicate, "files name 'a'"});
  RunSpec bad_env = Shell("true");
  bad_env.env = {"NOEQUALS"};
  cases.push_back({bad_env, "env entry 'NOEQUALS'"});
  RunSpec bad_collect = Shell("true");
  bad_collect.collect = {"a/b"};
  cases.push_back({bad_collect, "collect name 'a/b'"});
  RunSpec bad_limits = Shell("true");
  bad_limits.limits = RunLimits();
  bad_limits.limits->wall_ms = 0;
  cases.push_back({bad_limits, "RunLimits.wall_ms"});
  for (const auto& [spec, fragment] : cases) {
    StatusOr<RunResult> r = sandbox_->Run(spec);
    ASSERT_FALSE(r.ok()) << fragment;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(r.status().message()).find(fragment), std::string::npos) << r.status();
  }
}

TEST_F(SandboxTest, InvalidConfigIsRejectedWithTheField) {
  SandboxConfig config = SmallSandboxConfig(0);
  StatusOr<std::unique_ptr<Sandbox>> s = Sandbox::Create(config);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.status().message()).find("SandboxConfig.slots"), std::string::npos);
  config = SmallSandboxConfig(1);
  config.default_limits.memory_bytes = 1;
  s = Sandbox::Create(config);
  EXPECT_NE(std::string(s.status().message()).find("default_limits"), std::string::npos)
      << s.status();
  config = SmallSandboxConfig(1);
  config.system_paths.push_back("relative");
  EXPECT_EQ(Sandbox::Create(config).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SandboxTest, MissingProgramIsAnErrorAndTheSlotStillWorks) {
  RunSpec spec;
  spec.argv = {"/usr/bin/lightrl-no-such-program"};
  StatusOr<RunResult> r = sandbox_->Run(spec);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.status().message()).find("lightrl-no-such-program"), std::string::npos)
      << r.status();
  EXPECT_EQ(RunOk(Shell("echo ok")).stdout_data, "ok\n");
}

TEST_F(SandboxTest, InputFilesOverTheWorkDirSizeAreRefused) {
  RunSpec spec = Shell("true");
  spec.files = {{"big", std::string(sandbox_->config().box_bytes + 1, 'x'), false}};
  StatusOr<RunResult> r = sandbox_->Run(spec);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status();
  EXPECT_EQ(RunOk(Shell("echo ok")).stdout_data, "ok\n");
}

TEST_F(SandboxTest, UidsAreLeasedExclusively) {
  SandboxConfig config = SmallSandboxConfig(1);
  config.first_uid = sandbox_->slot_uids()[0];
  config.uid_count = 1;
  StatusOr<std::unique_ptr<Sandbox>> second = Sandbox::Create(config);
  EXPECT_EQ(second.status().code(), StatusCode::kResourceExhausted) << second.status();
}

TEST_F(SandboxTest, ConcurrentCallersShareTheSlots) {
  constexpr int kThreads = 4, kRuns = 6;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRuns; ++i) {
        std::string token = std::to_string(t * 100 + i);
        StatusOr<RunResult> r = sandbox_->Run(Python("print(int(input()) * 2)\n", token + "\n"));
        if (!r.ok() || r->stdout_data != std::to_string(std::stoi(token) * 2) + "\n") ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(SandboxTest, CallersWaitForASlotAndCanTimeOut) {
  SandboxConfig config = SmallSandboxConfig(1);
  config.slot_wait_ms = 20;
  Make(config);
  std::thread holder([&] { EXPECT_TRUE(sandbox_->Run(Shell("sleep 1")).ok()); });
  // Once the holder's program runs, the only slot is busy.
  while (ProcessesOfUids(sandbox_->slot_uids()).empty()) std::this_thread::yield();
  StatusOr<RunResult> r = sandbox_->Run(Shell("true"));
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status();
  holder.join();
  EXPECT_TRUE(sandbox_->Run(Shell("true")).ok());
}

TEST_F(SandboxTest, ZygoteDeathIsAnErrorNeverAPassAndTheSlotRecovers) {
  SandboxConfig config = SmallSandboxConfig(1);
  config.default_limits.wall_ms = 20000;
  Make(config);
  StatusOr<RunResult> r = InternalError("not run");
  std::thread runner([&] { r = sandbox_->Run(Shell("sleep 15; echo passed")); });
  while (ProcessesOfUids(sandbox_->slot_uids()).empty()) std::this_thread::yield();
  std::vector<pid_t> zygotes = ChildrenOfThisProcess();
  ASSERT_EQ(zygotes.size(), 1u);
  kill(zygotes[0], SIGKILL);
  runner.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal) << r.status();
  EXPECT_TRUE(ProcessesOfUids(sandbox_->slot_uids()).empty());
  EXPECT_EQ(RunOk(Shell("echo again")).stdout_data, "again\n");
}

TEST_F(SandboxTest, ReportNamesEveryGuarantee) {
  std::string report = sandbox_->report().ToString();
  for (const char* name :
       {"namespaces", "filesystem", "uid", "capabilities", "no_new_privs", "seccomp", "network",
        "rlimits", "cgroup memory", "cgroup pids", "cgroup cpu", "cpu accounting", "wall deadline",
        "output caps", "teardown"}) {
    EXPECT_NE(report.find(std::string(name) + ": "), std::string::npos) << name << "\n" << report;
  }
}

}  // namespace
}  // namespace lightrl
