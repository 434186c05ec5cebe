// The seccomp-bpf deny list loaded into every sandboxed process right before execve.
//
// Hand-written classic BPF (no libseccomp), x86_64 only:
//   - a foreign architecture (i386 via int $0x80, ...) or an x32 syscall number kills the
//     process (SECCOMP_RET_KILL_PROCESS, seen as SIGSYS);
//   - escape and introspection calls kill the process as a violation: ptrace,
//     process_vm_readv/writev, the mount family (mount, umount2, pivot_root, chroot,
//     fsopen/fsconfig/fsmount/fspick/move_mount/open_tree/mount_setattr), unshare, setns,
//     kexec, module loading and reboot;
//   - kernel attack surface and side channels fail with an errno: io_uring and key
//     management (ENOSYS), bpf, perf_event_open, userfaultfd, fanotify, handles, quotas,
//     flock, clock setters, syslog, acct, swap, hostname, iopl/ioperm, pidfd_getfd, kcmp
//     (EPERM); clone3 (ENOSYS, so libc falls back to clone, whose flags are filterable);
//     clone with namespace flags (EPERM); ioctl TIOCSTI/TIOCLINUX compared on the low 32
//     bits (EPERM, CVE-2017-5226/CVE-2019-10063); socket families other than unix, inet,
//     inet6 and netlink (EAFNOSUPPORT); personality other than 0 or a query (EPERM).
// execve itself is never blocked (the filter is installed before it, nsjail#131).
#ifndef LIGHTRL_SANDBOX_SECCOMP_FILTER_H_
#define LIGHTRL_SANDBOX_SECCOMP_FILTER_H_

#include <linux/filter.h>

#include <cstdint>
#include <map>
#include <vector>

#include "core/status.h"

namespace lightrl {

struct SeccompFilter {
  // A binary search over the syscall numbers (merged into ranges), so that attaching the
  // filter per run and filtering each syscall cost O(log rules).
  std::vector<sock_filter> program;
  // The action of every syscall decided by its number alone (SECCOMP_RET_*).
  std::map<uint32_t, uint32_t> actions;
  // Syscalls decided by their arguments (clone, ioctl, socket, personality).
  std::vector<int> argument_checked;
  int killed_syscalls = 0;  // rules that kill the process
  int errno_syscalls = 0;   // rules that fail with an errno
  int argument_checks = 0;  // rules that inspect arguments
};

// UnimplementedError on an architecture other than x86_64.
StatusOr<SeccompFilter> BuildSeccompFilter();

// Installs `filter` in the calling thread. Requires no_new_privs (or CAP_SYS_ADMIN).
// Async-signal-safe (one raw syscall), so it may run in a child between clone and exec.
// Returns 0 or -errno.
int InstallSeccompFilter(const SeccompFilter& filter);

}  // namespace lightrl

#endif  // LIGHTRL_SANDBOX_SECCOMP_FILTER_H_
