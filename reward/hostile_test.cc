// The hostile suite (notes §A.11): twenty attacks, each with its expected verdict and
// observable, plus the extra checks. Every test ends by destroying the sandbox and
// checking that no process of it survived and its cgroups are gone.
#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "reward/code_judge.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_test_util.h"

#ifndef LIGHTRL_HOSTILE_BINARY
#error "LIGHTRL_HOSTILE_BINARY must name the hostile program"
#endif

namespace lightrl {
namespace {

CodeJudgeConfig SmallJudgeConfig() {
  CodeJudgeConfig c;
  c.run_limits = SmallSandboxConfig(1).default_limits;
  c.compile_limits.wall_ms = 3000;
  c.compile_limits.cpu_ms = 3000;
  c.compile_limits.memory_bytes = 384 * kMiB;
  c.compile_limits.output_bytes = 16 * 1024;
  return c;
}

// Requires a guarantee of the fixture's sandbox: the test fails loudly with the report (and
// stops) when this machine lacks it, instead of passing without testing anything.
#define REQUIRE_GUARANTEE(name)                                                             \
  ASSERT_TRUE(sandbox_->report().Holds(name)) << "this machine lacks '" << (name) << "':\n" \
                                              << sandbox_->report().ToString()

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox_ = CreateOrFail(SmallSandboxConfig(1));
    ASSERT_NE(sandbox_, nullptr);
    binary_ = ReadWholeFile(LIGHTRL_HOSTILE_BINARY);
    ASSERT_FALSE(binary_.empty()) << LIGHTRL_HOSTILE_BINARY;
  }

  void TearDown() override { DestroyAndCheckClean(std::move(sandbox_)); }

  RunLimits Limits() const { return sandbox_->config().default_limits; }

  // Runs the hostile program in `mode`; fails the test when the sandbox errs.
  RunResult Hostile(const std::string& mode, const RunLimits& limits,
                    std::vector<std::string> extra_args = {},
                    std::vector<std::string> collect = {}) {
    RunSpec spec;
    spec.argv = {"/box/hostile", mode};
    spec.argv.insert(spec.argv.end(), extra_args.begin(), extra_args.end());
    spec.files = {{"hostile", binary_, true}};
    spec.collect = std::move(collect);
    spec.limits = limits;
    StatusOr<RunResult> r = sandbox_->Run(spec);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(r).value() : RunResult();
  }

  RunResult Hostile(const std::string& mode) { return Hostile(mode, Limits()); }

  // Judges C++ `code` against `cases` with small compile limits.
  Judgement JudgeCpp(const std::string& code, std::vector<IoCase> cases) {
    CodeSpec spec;
    spec.language = CodeLanguage::kCpp;
    spec.cases = std::move(cases);
    return CodeJudge(sandbox_.get(), SmallJudgeConfig()).Judge(spec, code, true);
  }

  std::unique_ptr<Sandbox> sandbox_;
  std::string binary_;
};

void ExpectLines(const std::string& out, const std::vector<std::string>& lines) {
  for (const std::string& line : lines) {
    EXPECT_NE(out.find(line + "\n"), std::string::npos) << "missing '" << line << "' in:\n" << out;
  }
}

TEST_F(HostileTest, EveryGuaranteeHoldsOnThisMachine) {
  for (const SandboxReport::Guarantee& g : sandbox_->report().guarantees) {
    EXPECT_TRUE(g.holds) << g.name << ": " << g.detail;
  }
}

// 1. for(;;); -> TLE by CPU, killed at the CPU limit long before the wall deadline.
TEST_F(HostileTest, A01InfiniteLoopIsCpuTimeout) {
  RunLimits l = Limits();
  l.cpu_ms = 400;
  l.wall_ms = 10000;
  RunResult r = Hostile("spin", l);
  EXPECT_EQ(r.outcome, RunOutcome::kCpuTimeout) << r.Summary();
  EXPECT_EQ(VerdictForRun(r), Verdict::kTimeout);
  EXPECT_GE(r.cpu_ms, 400);
  EXPECT_LT(r.wall_ms, 2500) << r.Summary();
}

// 2. sleep(3600) -> TLE by the wall clock with ~0 CPU.
TEST_F(HostileTest, A02SleepIsWallTimeout) {
  RunLimits l = Limits();
  l.wall_ms = 400;
  RunResult r = Hostile("sleep", l);
  EXPECT_EQ(r.outcome, RunOutcome::kWallTimeout) << r.Summary();
  EXPECT_EQ(VerdictForRun(r), Verdict::kTimeout);
  EXPECT_GE(r.wall_ms, 400);
  EXPECT_LT(r.wall_ms, 1500);
  EXPECT_LT(r.cpu_ms, 100);
}

// 3. for(;;) fork(); -> forks fail at pids.max, the run times out, nothing is left.
TEST_F(HostileTest, A03ForkBombHitsThePidsLimit) {
  REQUIRE_GUARANTEE("cgroup pids");
  RunLimits l = Limits();
  l.wall_ms = 700;
  l.memory_bytes = 512 * kMiB;  // Room for every allowed process: the pids limit must bind.
  RunResult r = Hostile("forkbomb", l);
  EXPECT_EQ(VerdictForRun(r), Verdict::kTimeout) << r.Summary();
  EXPECT_GT(r.pids_limit_hits, 0);
  EXPECT_TRUE(ProcessesOfUids(sandbox_->slot_uids()).empty());
  EXPECT_EQ(Hostile("secrets").exit_code, 0) << "the slot is unusable after a fork bomb";
}

// 4. 10 000 pthreads -> pthread_create fails with EAGAIN, runtime error.
TEST_F(HostileTest, A04ThreadBombIsRefused) {
  RunResult r = Hostile("threadbomb");
  EXPECT_EQ(VerdictForRun(r), Verdict::kRuntimeError) << r.Summary();
  EXPECT_NE(r.stdout_data.find("error=EAGAIN"), std::string::npos) << r.stdout_data;
  int created = std::stoi(r.stdout_data.substr(r.stdout_data.find('=') + 1));
  EXPECT_LE(created, Limits().processes);  // Plus the main thread: processes + 1 at most.
}

// 5. malloc+memset 64 MiB chunks -> MLE by the cgroup OOM killer.
TEST_F(HostileTest, A05MallocBombIsMemoryLimit) {
  REQUIRE_GUARANTEE("cgroup memory");
  RunResult r = Hostile("malloc");
  EXPECT_EQ(r.outcome, RunOutcome::kMemoryLimit) << r.Summary();
  EXPECT_EQ(VerdictForRun(r), Verdict::kMemoryLimit);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LE(r.peak_memory_bytes, Limits().memory_bytes + 2 * kMiB);
}

// 6. mmap 1 TiB MAP_NORESERVE and touch it -> MLE through the cgroup, not RLIMIT_AS.
TEST_F(HostileTest, A06TerabyteMmapIsMemoryLimit) {
  REQUIRE_GUARANTEE("cgroup memory");
  RunResult r = Hostile("mmap");
  EXPECT_EQ(r.outcome, RunOutcome::kMemoryLimit) << r.Summary();
  EXPECT_EQ(VerdictForRun(r), Verdict::kMemoryLimit);
}

// 7. 16 threads spinning for 2 s under a 1 s CPU limit -> TLE by summed CPU; the cpu quota
// keeps them to one core.
TEST_F(HostileTest, A07SpinningThreadsAreCpuTimeout) {
  REQUIRE_GUARANTEE("cgroup cpu");
  RunLimits l = Limits();
  l.cpu_ms = 500;
  l.wall_ms = 10000;
  RunResult r = Hostile("threads-spin", l);
  EXPECT_EQ(r.outcome, RunOutcome::kCpuTimeout) << r.Summary();
  EXPECT_LT(r.wall_ms, 2000) << r.Summary();
  EXPECT_LE(r.cpu_ms, r.wall_ms + 150) << "more than the one-core quota: " << r.Summary();
}

// 7b. Four processes each under RLIMIT_CPU but together over the limit: only the summed
// cgroup accounting catches them before the wall deadline.
TEST_F(HostileTest, A07ProcessesSummedCpuIsTimeout) {
  REQUIRE_GUARANTEE("cpu accounting");
  RunLimits l = Limits();
  l.cpu_ms = 400;
  l.wall_ms = 10000;
  RunResult r = Hostile("procs-spin", l);
  EXPECT_EQ(r.outcome, RunOutcome::kCpuTimeout) << r.Summary();
  EXPECT_LT(r.wall_ms, 2000) << "RLIMIT_CPU alone would take 4 s: " << r.Summary();
}

// 8. putchar loops on stdout and on stderr -> OLE at the byte cap; the supervisor keeps
// only the cap.
TEST_F(HostileTest, A08OutputFloodsAreOutputLimit) {
  for (const char* mode : {"flood-stdout", "flood-stderr"}) {
    RunResult r = Hostile(mode);
    EXPECT_EQ(r.outcome, RunOutcome::kOutputLimit) << mode << ": " << r.Summary();
    EXPECT_EQ(VerdictForRun(r), Verdict::kOutputLimit);
    const std::string& flooded =
        std::string(mode) == "flood-stdout" ? r.stdout_data : r.stderr_data;
    EXPECT_EQ(flooded.size(), static_cast<size_t>(Limits().output_bytes));
    EXPECT_LT(r.wall_ms, 1500);
  }
}

// 9. fill /tmp, then fallocate/ftruncate 100 GiB -> ENOSPC/EFBIG, runtime error; the
// host's disk is untouched.
TEST_F(HostileTest, A09DiskFillStaysInTheBox) {
  struct stat st;
  bool host_file_before = stat("/tmp/f", &st) == 0;
  RunResult r = Hostile("diskfill");
  EXPECT_EQ(VerdictForRun(r), Verdict::kRuntimeError) << r.Summary();
  bool space = r.stdout_data.find("write=ENOSPC") != std::string::npos ||
               r.stdout_data.find("write=EFBIG") != std::string::npos;
  EXPECT_TRUE(space) << r.stdout_data;
  EXPECT_EQ(r.stdout_data.find("fallocate=OK"), std::string::npos) << r.stdout_data;
  EXPECT_EQ(r.stdout_data.find("ftruncate=OK"), std::string::npos) << r.stdout_data;
  if (!host_file_before) {
    EXPECT_NE(stat("/tmp/f", &st), 0) << "the box wrote the host's /tmp";
  }
}

// 10. read /etc/shadow, ~/.ssh, /proc/1/environ; print environ -> not there, and only the
// allowlisted environment.
TEST_F(HostileTest, A10HostSecretsAreInvisible) {
  RunResult r = Hostile("secrets");
  EXPECT_EQ(r.exit_code, 0) << r.Summary();
  ExpectLines(r.stdout_data,
              {"/etc/shadow=ENOENT", "/root/.ssh/id_rsa=ENOENT", "/proc/1/environ=ENOENT"});
  std::string env;
  for (const std::string& e : sandbox_->config().env) env += "env " + e + "\n";
  EXPECT_EQ(r.stdout_data.substr(r.stdout_data.find("env ")), env);
}

// 11. create in /usr/bin, overwrite /bin/bash -> EROFS; the host files are unchanged.
TEST_F(HostileTest, A11SystemFoldersAreReadOnly) {
  std::string bash = ReadWholeFile("/bin/bash");
  RunResult r = Hostile("write-system");
  EXPECT_EQ(r.exit_code, 0) << r.Summary();
  ExpectLines(r.stdout_data, {"create /usr/bin/x=EROFS", "truncate /bin/bash=EROFS",
                              "create /etc/x=EROFS", "mkdir /lightrl-x=EROFS"});
  EXPECT_EQ(ReadWholeFile("/bin/bash"), bash);
  struct stat st;
  EXPECT_NE(stat("/usr/bin/x", &st), 0);
}

std::string HostIpv4() {
  ifaddrs* list = nullptr;
  std::string ip = "10.255.255.1";
  if (getifaddrs(&list) != 0) return ip;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof(buf));
    if (std::string(buf) != "127.0.0.1") {
      ip = buf;
      break;
    }
  }
  freeifaddrs(list);
  return ip;
}

// 12. connect to the internet, the metadata service, the host, a host abstract socket and
// docker.sock -> all unreachable; a server on 127.0.0.1 inside still works.
TEST_F(HostileTest, A12NetworkIsLoopbackOnly) {
  std::string name = "lightrl-hostile-" + std::to_string(getpid());
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::copy(name.begin(), name.end(), addr.sun_path + 1);
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  RunResult r = Hostile("network", Limits(), {HostIpv4(), name});
  EXPECT_EQ(r.exit_code, 0) << r.Summary();
  ExpectLines(r.stdout_data, {"tcp 1.1.1.1:443=ENETUNREACH", "tcp 169.254.169.254:80=ENETUNREACH",
                              "tcp host=ENETUNREACH", "abstract unix=ECONNREFUSED",
                              "docker.sock=ENOENT", "loopback server=OK"});
  EXPECT_LT(accept(listener, nullptr, nullptr), 0) << "the host socket was reached";
  close(listener);
}

// 13. kill(-1) and kill(parent) -> only the box's processes die; the program's own signal
// is reported; the supervisor and the zygote live on.
TEST_F(HostileTest, A13KillingTheParentOnlyKillsTheBox) {
  std::vector<pid_t> zygotes = ChildrenOfThisProcess();
  RunResult r = Hostile("killparent");
  EXPECT_EQ(r.outcome, RunOutcome::kSignaled) << r.Summary();
  EXPECT_EQ(r.signal, SIGABRT);
  EXPECT_EQ(VerdictForRun(r), Verdict::kRuntimeError);
  ExpectLines(r.stdout_data, {"kill -1=OK", "reaped=3", "kill ppid=EPERM"});
  EXPECT_EQ(ChildrenOfThisProcess(), zygotes) << "the zygote was killed or restarted";
}

// 14. double fork + setsid + SIGHUP ignored, parent exits 0 -> the verdict comes from the
// parent, and the daemon is killed at the end of the run.
TEST_F(HostileTest, A14DaemonIsKilledAtTeardown) {
  RunResult r = Hostile("daemon");
  EXPECT_EQ(r.outcome, RunOutcome::kExited) << r.Summary();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_data, "parent done\n");
  EXPECT_TRUE(ProcessesOfUids(sandbox_->slot_uids()).empty()) << "the daemon survived";
}

// 15. ptrace, process_vm_readv, unshare(CLONE_NEWUSER), mount -> SIGSYS, a violation.
TEST_F(HostileTest, A15EscapeCallsAreSeccompViolations) {
  for (const char* mode : {"ptrace", "process_vm_readv", "unshare", "mount"}) {
    RunResult r = Hostile(mode);
    EXPECT_EQ(r.outcome, RunOutcome::kSignaled) << mode << ": " << r.Summary();
    EXPECT_EQ(r.signal, SIGSYS) << mode;
    EXPECT_EQ(VerdictForRun(r), Verdict::kRuntimeError) << mode;
  }
}

// 16. ioctl TIOCSTI, also with high bits set (CVE-2019-10063) -> EPERM.
TEST_F(HostileTest, A16TiocstiIsDenied) {
  RunResult r = Hostile("tiocsti");
  EXPECT_EQ(r.exit_code, 0) << r.Summary();
  ExpectLines(r.stdout_data, {"TIOCSTI=EPERM", "TIOCSTI high bits=EPERM"});
}

// 17. int $0x80 and an x32 syscall number -> SIGSYS.
TEST_F(HostileTest, A17ForeignSyscallAbisAreKilled) {
  for (const char* mode : {"int80", "x32"}) {
    RunResult r = Hostile(mode);
    EXPECT_EQ(r.signal, SIGSYS) << mode << ": " << r.Summary();
    EXPECT_EQ(VerdictForRun(r), Verdict::kRuntimeError);
  }
}

// 18. io_uring, keyctl, AF_VSOCK, bpf, perf_event_open, flock -> refused.
TEST_F(HostileTest, A18SideChannelCallsFail) {
  RunResult r = Hostile("sidechannels");
  EXPECT_EQ(r.exit_code, 0) << r.Summary();
  ExpectLines(r.stdout_data,
              {"io_uring_setup=ENOSYS", "keyctl=ENOSYS", "socket AF_VSOCK=EAFNOSUPPORT",
               "bpf=EPERM", "perf_event_open=EPERM", "flock=EPERM"});
}

// 19. out.txt -> /etc/shadow and other link tricks -> the supervisor does not follow them.
TEST_F(HostileTest, A19LinksAreNotFollowedWhenCollecting) {
  RunResult r = Hostile("links", Limits(), {},
                        {"out.txt", "inner.txt", "data.txt", "hard.txt", "fifo", "dir", "none"});
  EXPECT_EQ(r.exit_code, 0) << r.Summary();
  ExpectLines(r.stdout_data, {"symlink=OK", "hardlink=EXDEV", "fifo=OK"});
  ASSERT_EQ(r.files.size(), 7u);
  EXPECT_EQ(r.File("out.txt")->error, ELOOP);
  EXPECT_EQ(r.File("out.txt")->contents, "");
  EXPECT_EQ(r.File("inner.txt")->error, ELOOP);
  EXPECT_EQ(r.File("data.txt")->error, 0);
  EXPECT_EQ(r.File("data.txt")->contents, "data");
  EXPECT_EQ(r.File("hard.txt")->error, ENOENT);
  EXPECT_EQ(r.File("fifo")->error, EINVAL);
  EXPECT_EQ(r.File("dir")->error, EISDIR);
  EXPECT_EQ(r.File("none")->error, ENOENT);
}

// 20a. #include "/dev/random" -> compile error (compiler output cap or compile TLE).
TEST_F(HostileTest, A20IncludeDevRandomIsCompileError) {
  Judgement j = JudgeCpp("#include \"/dev/random\"\nint main() {}\n", {{"", ""}});
  EXPECT_EQ(j.verdict, Verdict::kCompileError) << j.details;
}

// 20b. Nested macro expansion bomb -> compile error (compile TLE or MLE).
TEST_F(HostileTest, A20MacroBombIsCompileError) {
  const char* bomb =
      "#define A(x) x x x x x x x x x x\n"
      "#define B(x) A(A(A(x)))\n"
      "#define C(x) B(B(B(x)))\n"
      "int main() { C(;) return 0; }\n";
  Judgement j = JudgeCpp(bomb, {{"", ""}});
  EXPECT_EQ(j.verdict, Verdict::kCompileError) << j.details;
}

// 20c. exit(0) before the tests run, in C++ and in Python -> a wrong answer, never a pass.
TEST_F(HostileTest, A20EarlyExitIsWrongAnswer) {
  Judgement j = JudgeCpp("#include <cstdlib>\nint main() { std::exit(0); }\n", {{"1 2\n", "3\n"}});
  EXPECT_EQ(j.verdict, Verdict::kIncorrect) << j.details;
  CodeJudge judge(sandbox_.get(), SmallJudgeConfig());
  CodeSpec py;
  py.test_script = "def test_add():\n    assert add(1, 2) == 3\n";
  for (const char* code : {"import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n",
                           "def add(a, b):\n    import os\n    os._exit(0)\n"}) {
    j = judge.Judge(py, code, true);
    EXPECT_EQ(j.verdict, Verdict::kIncorrect) << code << ": " << j.details;
    EXPECT_EQ(j.passed, 0);
  }
}

// Extra: files and SysV objects of one run are invisible to the next one in the slot.
TEST_F(HostileTest, NothingLeaksBetweenRuns) {
  RunResult w = Hostile("shm-write");
  ExpectLines(w.stdout_data, {"shm file=OK", "sysv shm=OK", "tmp file=OK", "box file=OK"});
  RunResult r = Hostile("shm-read");
  ExpectLines(r.stdout_data,
              {"shm file=ENOENT", "sysv shm=ENOENT", "tmp file=ENOENT", "box file=ENOENT"});
}

// Extra: deep recursion -> SIGSEGV within the stack limit -> runtime error.
TEST_F(HostileTest, DeepRecursionIsRuntimeError) {
  RunResult r = Hostile("recurse");
  EXPECT_EQ(r.signal, SIGSEGV) << r.Summary();
  EXPECT_EQ(VerdictForRun(r), Verdict::kRuntimeError);
}

// Extra: raising hard rlimits -> EPERM.
TEST_F(HostileTest, HardLimitsCannotBeRaised) {
  RunResult r = Hostile("raise-limits");
  ExpectLines(r.stdout_data, {"raise NPROC=EPERM", "raise CPU=EPERM"});
}

}  // namespace
}  // namespace lightrl
