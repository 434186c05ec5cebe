#include "sandbox/seccomp_filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <initializer_list>

namespace lightrl {
namespace {

#if defined(__x86_64__)
constexpr bool kSupportedArch = true;
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#else
constexpr bool kSupportedArch = false;
constexpr uint32_t kAuditArch = 0;
#endif

constexpr uint32_t kX32SyscallBit = 0x40000000;
constexpr uint32_t kKill = SECCOMP_RET_KILL_PROCESS;
constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t Errno(int e) { return SECCOMP_RET_ERRNO | (static_cast<uint32_t>(e) & 0xffff); }

constexpr uint32_t kNamespaceCloneFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                          CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                          CLONE_NEWCGROUP;

constexpr uint32_t ArgLow(int index) {
  return static_cast<uint32_t>(offsetof(seccomp_data, args) + 8 * index);  // Little endian.
}

class Builder {
 public:
  void Load(uint32_t offset) { Add(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }
  void Return(uint32_t action) { Add(BPF_STMT(BPF_RET | BPF_K, action)); }
  // if (A == value) return action.
  void ReturnIfEqual(uint32_t value, uint32_t action) {
    Add(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 0, 1));
    Return(action);
  }
  // if (A & bits) return action.
  void ReturnIfAnySet(uint32_t bits, uint32_t action) {
    Add(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, bits, 0, 1));
    Return(action);
  }
  // if (A != value) return action.
  void ReturnIfNotEqual(uint32_t value, uint32_t action) {
    Add(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 1, 0));
    Return(action);
  }
  // if (A != value) skip the next `length` instructions.
  void SkipUnlessEqual(uint32_t value, uint8_t length) {
    Add(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 0, length));
  }

  std::vector<sock_filter>& program() { return program_; }

 private:
  void Add(sock_filter insn) { program_.push_back(insn); }
  std::vector<sock_filter> program_;
};

// A syscall whose argument decides. With A holding the syscall number, a block that is
// skipped for other syscalls; for `nr` it loads the low 32 bits of argument `arg` and
// returns `action` for the listed `values` (with `allow_listed`: allows the listed values
// and returns `action` for every other value). The block always returns.
void ArgumentRule(Builder& b, int nr, int arg, std::initializer_list<uint32_t> values,
                  bool allow_listed, uint32_t action) {
  uint8_t length = static_cast<uint8_t>(2 * values.size() + 2);
  b.SkipUnlessEqual(static_cast<uint32_t>(nr), length);
  b.Load(ArgLow(arg));
  for (uint32_t v : values) b.ReturnIfEqual(v, allow_listed ? kAllow : action);
  b.Return(allow_listed ? action : kAllow);
}

}  // namespace

StatusOr<SeccompFilter> BuildSeccompFilter() {
  if (!kSupportedArch) {
    return UnimplementedError("the sandbox's seccomp filter supports x86_64 only");
  }
  SeccompFilter filter;
  Builder b;
  b.Load(offsetof(seccomp_data, arch));
  b.ReturnIfNotEqual(kAuditArch, kKill);
  b.Load(offsetof(seccomp_data, nr));
  b.ReturnIfAnySet(kX32SyscallBit, kKill);

  for (int nr : {SYS_ptrace,        SYS_process_vm_readv, SYS_process_vm_writev,
                 SYS_mount,         SYS_umount2,          SYS_pivot_root,
                 SYS_chroot,        SYS_unshare,          SYS_setns,
                 SYS_fsopen,        SYS_fsconfig,         SYS_fsmount,
                 SYS_fspick,        SYS_move_mount,       SYS_open_tree,
                 SYS_mount_setattr, SYS_kexec_load,       SYS_kexec_file_load,
                 SYS_init_module,   SYS_finit_module,     SYS_delete_module,
                 SYS_reboot}) {
    b.ReturnIfEqual(static_cast<uint32_t>(nr), kKill);
    ++filter.killed_syscalls;
  }
  for (int nr : {SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register, SYS_keyctl,
                 SYS_add_key, SYS_request_key, SYS_clone3}) {
    b.ReturnIfEqual(static_cast<uint32_t>(nr), Errno(ENOSYS));
    ++filter.errno_syscalls;
  }
  for (int nr : {SYS_bpf,
                 SYS_perf_event_open,
                 SYS_userfaultfd,
                 SYS_fanotify_init,
                 SYS_open_by_handle_at,
                 SYS_name_to_handle_at,
                 SYS_quotactl,
                 SYS_quotactl_fd,
                 SYS_flock,
                 SYS_settimeofday,
                 SYS_clock_settime,
                 SYS_clock_adjtime,
                 SYS_adjtimex,
                 SYS_syslog,
                 SYS_acct,
                 SYS_swapon,
                 SYS_swapoff,
                 SYS_sethostname,
                 SYS_setdomainname,
                 SYS_iopl,
                 SYS_ioperm,
                 SYS_pidfd_getfd,
                 SYS_kcmp,
                 SYS_lookup_dcookie,
                 SYS_vhangup}) {
    b.ReturnIfEqual(static_cast<uint32_t>(nr), Errno(EPERM));
    ++filter.errno_syscalls;
  }

  ArgumentRule(b, SYS_ioctl, 1, {TIOCSTI, TIOCLINUX}, /*allow_listed=*/false, Errno(EPERM));
  ArgumentRule(b, SYS_socket, 0, {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK}, /*allow_listed=*/true,
               Errno(EAFNOSUPPORT));
  ArgumentRule(b, SYS_personality, 0, {0, 0xffffffffu}, /*allow_listed=*/true, Errno(EPERM));
  b.SkipUnlessEqual(SYS_clone, 4);
  b.Load(ArgLow(0));
  b.ReturnIfAnySet(kNamespaceCloneFlags, Errno(EPERM));
  b.Return(kAllow);
  filter.argument_checks = 4;

  b.Return(kAllow);
  filter.program = std::move(b.program());
  return filter;
}

int InstallSeccompFilter(const SeccompFilter& filter) {
  sock_fprog prog;
  prog.len = static_cast<unsigned short>(filter.program.size());
  prog.filter = const_cast<sock_filter*>(filter.program.data());
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return -errno;
  return 0;
}

}  // namespace lightrl
