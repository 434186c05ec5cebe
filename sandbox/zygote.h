// The zygote of a sandbox slot: pid 1 of the slot's PID namespace, living in the box.
//
// The supervisor clones it once per slot with new PID, mount, network, IPC and UTS
// namespaces. It joins the slot cgroup and a new cgroup namespace, builds the box (private
// mount propagation; a tmpfs root with read-only nosuid/nodev binds of the system paths;
// /dev null, zero, full, random and urandom; a minimal /etc; pivot_root; /proc with
// hidepid; a read-only root; size-capped tmpfs /box, /tmp and /dev/shm, root-owned with
// mode 1777), brings up loopback only, empties its capability bounding set (inherited by
// every program), and then serves run requests (box_protocol.h), one at a time:
//   1. write the input files into /box (created by root, then chowned to the slot uid);
//   2. spawn the program with clone(CLONE_VM | CLONE_VFORK); the child sets
//      oom_score_adj to 1000 (the OOM victim, not the zygote), calls setsid, wires
//      stdin/stdout/stderr, closes every other descriptor, sets rlimits, drops to the slot
//      uid/gid with no supplementary groups and no capabilities, sets no_new_privs and
//      loads the seccomp filter last, right before execve;
//   3. wait for the program, reaping orphans as they exit;
//   4. kill every other process of the namespace (kill(-1, SIGKILL) from pid 1) and reap
//      them all, so nothing of the run survives;
//   5. enter a fresh IPC namespace if the run left SysV objects behind;
//   6. read the requested files with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//      RESOLVE_NO_XDEV) and O_NOFOLLOW, regular files only, size-capped;
//   7. report, then make /box, /tmp and /dev/shm fresh again: their roots are root-owned
//      and sticky, so the run cannot change them, and a mount that is empty again is as
//      good as new; one the run used is emptied without following links (up to 256
//      entries and 8 levels) or else replaced by a new tmpfs mount.
// When the supervisor's end of the socket closes, the zygote kills the run and exits,
// which tears the whole namespace down.
#ifndef LIGHTRL_SANDBOX_ZYGOTE_H_
#define LIGHTRL_SANDBOX_ZYGOTE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/seccomp_filter.h"

namespace lightrl {

struct ZygoteConfig {
  int socket_fd = -1;
  std::vector<int> cgroup_procs_fds;
  uint32_t uid = 0;
  uint32_t gid = 0;
  // Host paths made visible read-only at the same place; symlinks are copied as symlinks,
  // missing paths are skipped.
  std::vector<std::string> system_paths;
  int64_t box_bytes = 0;
  int64_t tmp_bytes = 0;
  int64_t shm_bytes = 0;
  int64_t max_inodes = 0;  // per tmpfs
  const SeccompFilter* seccomp = nullptr;
  int cap_last_cap = 0;
  std::string etc_passwd;
  std::string etc_group;
  std::string etc_hosts;
};

// The zygote's body, run in the child of clone(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
// CLONE_NEWIPC | CLONE_NEWUTS). The caller may be multithreaded, so this uses only system
// calls and memory it maps itself: no malloc, no locks, no logging. `config` is read from
// the child's copy of the caller's memory. Never returns.
[[noreturn]] void ZygoteMain(const ZygoteConfig& config);

}  // namespace lightrl

#endif  // LIGHTRL_SANDBOX_ZYGOTE_H_
