#include "sandbox/seccomp_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>

namespace lightrl {
namespace {

// Runs `body` in a forked child under the filter; the child exits with body's result.
// Returns the wait status.
int RunFiltered(const std::function<int()>& body) {
  static const SeccompFilter filter = std::move(BuildSeccompFilter()).value();
  pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(250);
    if (InstallSeccompFilter(filter) != 0) _exit(251);
    _exit(body());
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

// The errno a failing call left, or 0 when the call succeeded.
int ErrnoOf(long result) { return result < 0 ? errno : 0; }

void ExpectErrno(const char* what, int want, const std::function<long()>& call) {
  int status = RunFiltered([&] { return ErrnoOf(call()); });
  ASSERT_TRUE(WIFEXITED(status)) << what << " died with signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), want) << what << ": got errno " << WEXITSTATUS(status);
}

void ExpectKilled(const char* what, const std::function<long()>& call) {
  int status = RunFiltered([&] { return static_cast<int>(call() & 0x7f); });
  ASSERT_TRUE(WIFSIGNALED(status))
      << what << " was not killed, exit " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  EXPECT_EQ(WTERMSIG(status), SIGSYS) << what;
}

TEST(SeccompFilterTest, CountsRules) {
  StatusOr<SeccompFilter> filter = BuildSeccompFilter();
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_GT(filter->killed_syscalls, 15);
  EXPECT_GT(filter->errno_syscalls, 20);
  EXPECT_EQ(filter->argument_checks, 4);
  EXPECT_LT(filter->program.size(), 4096u);  // BPF_MAXINSNS
  EXPECT_EQ(filter->actions.size(),
            static_cast<size_t>(filter->killed_syscalls + filter->errno_syscalls));
}

// A classic-BPF interpreter for the instructions the filter uses, to check the generated
// search tree against its rule table for every syscall number.
uint32_t Interpret(const std::vector<sock_filter>& program, const seccomp_data& data) {
  uint32_t a = 0;
  for (size_t pc = 0; pc < program.size(); ++pc) {
    const sock_filter& insn = program[pc];
    switch (insn.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        std::memcpy(&a, reinterpret_cast<const char*>(&data) + insn.k, sizeof(a));
        break;
      case BPF_RET | BPF_K:
        return insn.k;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += a == insn.k ? insn.jt : insn.jf;
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += a >= insn.k ? insn.jt : insn.jf;
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += a > insn.k ? insn.jt : insn.jf;
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += (a & insn.k) != 0 ? insn.jt : insn.jf;
        break;
      default:
        ADD_FAILURE() << "unexpected BPF code " << insn.code << " at " << pc;
        return 0;
    }
  }
  ADD_FAILURE() << "the program fell off its end";
  return 0;
}

TEST(SeccompFilterTest, SearchTreeMatchesTheRuleTableForEverySyscall) {
  SeccompFilter filter = std::move(BuildSeccompFilter()).value();
  seccomp_data data{};
  data.arch = AUDIT_ARCH_X86_64;
  for (uint32_t nr = 0; nr < 1024; ++nr) {
    if (std::count(filter.argument_checked.begin(), filter.argument_checked.end(),
                   static_cast<int>(nr)) > 0) {
      continue;
    }
    data.nr = static_cast<int>(nr);
    auto it = filter.actions.find(nr);
    uint32_t want = it == filter.actions.end() ? SECCOMP_RET_ALLOW : it->second;
    EXPECT_EQ(Interpret(filter.program, data), want) << "syscall " << nr;
  }
  data.nr = SYS_getpid | 0x40000000;
  EXPECT_EQ(Interpret(filter.program, data), SECCOMP_RET_KILL_PROCESS);
  data.nr = SYS_getpid;
  data.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(Interpret(filter.program, data), SECCOMP_RET_KILL_PROCESS);
}

TEST(SeccompFilterTest, OrdinaryCallsStillWork) {
  ExpectErrno("getpid", 0, [] { return syscall(SYS_getpid); });
  ExpectErrno("socket(AF_INET)", 0, [] { return socket(AF_INET, SOCK_STREAM, 0); });
  ExpectErrno("socket(AF_UNIX)", 0, [] { return socket(AF_UNIX, SOCK_STREAM, 0); });
  ExpectErrno("personality query", 0, [] { return personality(0xffffffff); });
  ExpectErrno("fork", 0, [] {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    return static_cast<long>(waitpid(pid, nullptr, 0));
  });
  ExpectErrno("ioctl(TCGETS) on a pipe", ENOTTY, [] {
    int fds[2];
    if (pipe(fds) != 0) return -1L;
    termios t;
    return static_cast<long>(ioctl(fds[0], TCGETS, &t));
  });
}

TEST(SeccompFilterTest, SideChannelsFailWithErrno) {
  ExpectErrno("bpf", EPERM, [] { return syscall(SYS_bpf, 0, nullptr, 0); });
  ExpectErrno("perf_event_open", EPERM,
              [] { return syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0); });
  ExpectErrno("io_uring_setup", ENOSYS, [] { return syscall(SYS_io_uring_setup, 1, nullptr); });
  ExpectErrno("keyctl", ENOSYS, [] { return syscall(SYS_keyctl, 0, 0, 0, 0, 0); });
  ExpectErrno("clone3", ENOSYS, [] { return syscall(SYS_clone3, nullptr, 0); });
  ExpectErrno("userfaultfd", EPERM, [] { return syscall(SYS_userfaultfd, 0); });
  ExpectErrno("flock", EPERM, [] {
    int fd = open("/proc/self/stat", O_RDONLY);
    return static_cast<long>(flock(fd, LOCK_EX));
  });
  ExpectErrno("socket(AF_VSOCK)", EAFNOSUPPORT, [] { return socket(40, SOCK_STREAM, 0); });
  ExpectErrno("socket(AF_PACKET)", EAFNOSUPPORT, [] { return socket(17, SOCK_RAW, 0); });
  ExpectErrno("personality(ADDR_NO_RANDOMIZE)", EPERM, [] { return personality(0x0040000); });
  ExpectErrno("clone(CLONE_NEWNET)", EPERM,
              [] { return syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0); });
}

TEST(SeccompFilterTest, TiocstiIsDeniedWhateverTheHighBits) {
  ExpectErrno("ioctl(TIOCSTI)", EPERM, [] {
    char c = 'x';
    return static_cast<long>(syscall(SYS_ioctl, 0, TIOCSTI, &c));
  });
  ExpectErrno("ioctl(0x100005412)", EPERM, [] {
    char c = 'x';
    return static_cast<long>(syscall(SYS_ioctl, 0, 0x100005412UL, &c));
  });
}

TEST(SeccompFilterTest, EscapesKillTheProcess) {
  ExpectKilled("ptrace", [] { return syscall(SYS_ptrace, PTRACE_ATTACH, 1, 0, 0); });
  ExpectKilled("process_vm_readv",
               [] { return syscall(SYS_process_vm_readv, 1, nullptr, 0, nullptr, 0, 0); });
  ExpectKilled("unshare", [] { return syscall(SYS_unshare, CLONE_NEWUSER); });
  ExpectKilled("setns", [] { return syscall(SYS_setns, 0, 0); });
  ExpectKilled("mount", [] { return syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, nullptr); });
  ExpectKilled("chroot", [] { return syscall(SYS_chroot, "/"); });
}

TEST(SeccompFilterTest, ForeignArchitectureAndX32Kill) {
  ExpectKilled("x32 getpid", [] { return syscall(SYS_getpid | 0x40000000); });
  ExpectKilled("int $0x80 getpid", [] {
    long ret;
    asm volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");  // i386 getpid.
    return ret;
  });
}

}  // namespace
}  // namespace lightrl
