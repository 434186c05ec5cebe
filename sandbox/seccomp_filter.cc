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

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <map>

#include "core/logging.h"

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

sock_filter Statement(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }

sock_filter Jump(uint16_t op, uint32_t k, size_t jt, size_t jf) {
  CHECK_LE(jt, 255u);
  CHECK_LE(jf, 255u);
  return BPF_JUMP(BPF_JMP | op | BPF_K, k, static_cast<uint8_t>(jt), static_cast<uint8_t>(jf));
}

sock_filter Load(uint32_t offset) { return Statement(BPF_LD | BPF_W | BPF_ABS, offset); }
sock_filter Return(uint32_t action) { return Statement(BPF_RET | BPF_K, action); }

// The decision for the syscall numbers [lo, hi]: `action`, or, when `body` is not empty
// (then lo == hi), the body, which inspects arguments and returns on every path.
struct Rule {
  uint32_t lo;
  uint32_t hi;
  uint32_t action;
  std::vector<sock_filter> body;
};

// A body that loads the low 32 bits of argument `arg` and returns `action` for the listed
// values (with `allow_listed`: allows them and returns `action` for any other value).
std::vector<sock_filter> ArgumentBody(int arg, std::initializer_list<uint32_t> values,
                                      bool allow_listed, uint32_t action) {
  std::vector<sock_filter> body = {Load(ArgLow(arg))};
  for (uint32_t v : values) {
    body.push_back(Jump(BPF_JEQ, v, 0, 1));
    body.push_back(Return(allow_listed ? kAllow : action));
  }
  body.push_back(Return(allow_listed ? action : kAllow));
  return body;
}

// Code that, with A holding a syscall number known to lie in the range of rules [l, r),
// applies the matching rule or allows. A binary search over the rules keeps both the
// kernel's per-syscall emulation at attach time (its action cache) and each syscall's
// filtering at O(log rules).
std::vector<sock_filter> Tree(const std::vector<Rule>& rules, size_t l, size_t r) {
  if (r - l > 1) {
    size_t mid = (l + r) / 2;
    std::vector<sock_filter> left = Tree(rules, l, mid);
    std::vector<sock_filter> right = Tree(rules, mid, r);
    std::vector<sock_filter> out = {Jump(BPF_JGE, rules[mid].lo, left.size(), 0)};
    out.insert(out.end(), left.begin(), left.end());
    out.insert(out.end(), right.begin(), right.end());
    return out;
  }
  const Rule& rule = rules[l];
  if (rule.body.empty()) {
    return {Jump(BPF_JGE, rule.lo, 0, 2), Jump(BPF_JGT, rule.hi, 1, 0), Return(rule.action),
            Return(kAllow)};
  }
  std::vector<sock_filter> out = {Jump(BPF_JEQ, rule.lo, 0, rule.body.size())};
  out.insert(out.end(), rule.body.begin(), rule.body.end());
  out.push_back(Return(kAllow));
  return out;
}

// Sorted rules, consecutive numbers with the same action merged into one range.
std::vector<Rule> MergedRules(const std::map<uint32_t, uint32_t>& actions,
                              std::map<uint32_t, std::vector<sock_filter>> bodies) {
  std::vector<Rule> rules;
  for (const auto& [nr, action] : actions) {
    CHECK_EQ(bodies.count(nr), 0u) << "syscall " << nr << " has two rules";
    if (!rules.empty() && rules.back().hi + 1 == nr && rules.back().action == action) {
      rules.back().hi = nr;
    } else {
      rules.push_back(Rule{nr, nr, action, {}});
    }
  }
  for (auto& [nr, body] : bodies) rules.push_back(Rule{nr, nr, kAllow, std::move(body)});
  std::sort(rules.begin(), rules.end(), [](const Rule& a, const Rule& b) { return a.lo < b.lo; });
  return rules;
}

}  // namespace

StatusOr<SeccompFilter> BuildSeccompFilter() {
  if (!kSupportedArch) {
    return UnimplementedError("the sandbox's seccomp filter supports x86_64 only");
  }
  SeccompFilter filter;
  std::map<uint32_t, uint32_t>& actions = filter.actions;
  for (int nr : {SYS_ptrace,        SYS_process_vm_readv, SYS_process_vm_writev,
                 SYS_mount,         SYS_umount2,          SYS_pivot_root,
                 SYS_chroot,        SYS_unshare,          SYS_setns,
                 SYS_fsopen,        SYS_fsconfig,         SYS_fsmount,
                 SYS_fspick,        SYS_move_mount,       SYS_open_tree,
                 SYS_mount_setattr, SYS_kexec_load,       SYS_kexec_file_load,
                 SYS_init_module,   SYS_finit_module,     SYS_delete_module,
                 SYS_reboot}) {
    actions[static_cast<uint32_t>(nr)] = kKill;
    ++filter.killed_syscalls;
  }
  for (int nr : {SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register, SYS_keyctl,
                 SYS_add_key, SYS_request_key, SYS_clone3}) {
    actions[static_cast<uint32_t>(nr)] = Errno(ENOSYS);
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
    actions[static_cast<uint32_t>(nr)] = Errno(EPERM);
    ++filter.errno_syscalls;
  }
  std::map<uint32_t, std::vector<sock_filter>> bodies;
  bodies[SYS_ioctl] = ArgumentBody(1, {TIOCSTI, TIOCLINUX}, /*allow_listed=*/false, Errno(EPERM));
  bodies[SYS_socket] = ArgumentBody(0, {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK},
                                    /*allow_listed=*/true, Errno(EAFNOSUPPORT));
  bodies[SYS_personality] = ArgumentBody(0, {0, 0xffffffffu}, /*allow_listed=*/true, Errno(EPERM));
  bodies[SYS_clone] = {Load(ArgLow(0)), Jump(BPF_JSET, kNamespaceCloneFlags, 0, 1),
                       Return(Errno(EPERM)), Return(kAllow)};
  for (const auto& [nr, body] : bodies) filter.argument_checked.push_back(static_cast<int>(nr));
  filter.argument_checks = static_cast<int>(bodies.size());

  std::vector<Rule> rules = MergedRules(actions, std::move(bodies));
  filter.program = {
      Load(offsetof(seccomp_data, arch)), Jump(BPF_JEQ, kAuditArch, 1, 0),      Return(kKill),
      Load(offsetof(seccomp_data, nr)),   Jump(BPF_JSET, kX32SyscallBit, 0, 1), Return(kKill)};
  std::vector<sock_filter> tree = Tree(rules, 0, rules.size());
  filter.program.insert(filter.program.end(), tree.begin(), tree.end());
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
