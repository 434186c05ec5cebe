// The sandbox: runs untrusted programs (Python 3, shell, compiled C++) in isolation.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Sandbox> sandbox, Sandbox::Create(SandboxConfig()));
//   LOG(INFO) << sandbox->report().ToString();
//   RunSpec spec;
//   spec.argv = {"/usr/bin/python3", "main.py"};
//   spec.files = {{"main.py", "print(input())"}};
//   spec.stdin_data = "hi\n";
//   ASSIGN_OR_RETURN(RunResult result, sandbox->Run(spec));
//
// Every run happens in its slot's own PID, mount, network (loopback only), IPC, UTS and
// cgroup namespaces, which no other slot shares and no process outlives the run in; on a
// read-only root on tmpfs with /box (the work dir), /tmp and /dev/shm empty at the start;
// as its slot's unprivileged uid with no capabilities, no_new_privs and a seccomp deny
// list; under rlimits, cgroup memory/pids/cpu limits where the machine allows, a wall
// deadline independent of CPU time and byte caps on stdout/stderr. docs/sandbox.md has the
// threat model and how each part is tested.
//
// Requires root (or CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT, ...) and Linux
// >= 5.9 on x86_64. The process must not reap children it did not create (waitpid(-1)):
// each slot runs a long-lived child process, its zygote (sandbox/zygote.h).
//
// Thread-safety: Run may be called concurrently from any number of threads; each call
// takes one of `slots` slots and blocks while all are busy (see SandboxConfig::slot_wait_ms).
#ifndef LIGHTRL_SANDBOX_SANDBOX_H_
#define LIGHTRL_SANDBOX_SANDBOX_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lightrl {

inline constexpr int64_t kMiB = 1 << 20;

// Limits of one run. Validate() names the bad field.
struct RunLimits {
  int64_t wall_ms = 10000;              // Wall-clock deadline, whatever the program does.
  int64_t cpu_ms = 5000;                // CPU of all the run's processes together.
  int64_t memory_bytes = 256 * kMiB;    // cgroup memory (RLIMIT_AS without a memory cgroup).
  int64_t processes = 64;               // Processes and threads alive at once.
  int64_t output_bytes = 1 * kMiB;      // Per stream (stdout, stderr); more is output_limit.
  int64_t file_size_bytes = 16 * kMiB;  // Largest file a process may write (RLIMIT_FSIZE).
  int64_t open_files = 256;
  int64_t stack_bytes = 8 * kMiB;
  double cpu_cores = 1.0;             // cgroup cpu quota.
  int64_t collect_bytes = 16 * kMiB;  // Largest file read back with RunSpec::collect.

  Status Validate() const;
};

struct SandboxConfig {
  int slots = 2;
  // Slots run as uids leased machine-wide from [first_uid, first_uid + uid_count) (see
  // sandbox/uid_lease.h). The range must belong to no user.
  uint32_t first_uid = 61000;
  uint32_t uid_count = 1000;
  std::string state_dir = "/run/lightrl-sandbox";
  // Host paths visible read-only in the box (symlinks copied; missing ones skipped).
  std::vector<std::string> system_paths = {"/usr",
                                           "/bin",
                                           "/sbin",
                                           "/lib",
                                           "/lib32",
                                           "/lib64",
                                           "/libx32",
                                           "/etc/ld.so.cache",
                                           "/etc/alternatives"};
  // Sizes of the per-run tmpfs mounts and their inode cap.
  int64_t box_bytes = 64 * kMiB;
  int64_t tmp_bytes = 64 * kMiB;
  int64_t shm_bytes = 16 * kMiB;
  int64_t max_inodes = 16384;
  // The environment of every run ("KEY=VALUE"); RunSpec::env is appended.
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/box", "LANG=C.UTF-8",
                                  "TMPDIR=/tmp"};
  RunLimits default_limits;
  // Create fails unless memory, pids and cpu cgroups can be used.
  bool require_cgroups = false;
  // How long Run waits for a free slot: < 0 forever, else DeadlineExceededError after it.
  int64_t slot_wait_ms = -1;
  // How long a slot may take to report after a kill before it is torn down.
  int64_t kill_grace_ms = 2000;
  // Interval of the summed-CPU check while a run is going.
  int64_t cpu_check_ms = 20;

  Status Validate() const;
};

struct RunFile {
  std::string name;  // A plain name in /box: no '/', not "." or "..".
  std::string contents;
  bool executable = false;
};

struct RunSpec {
  std::vector<std::string> argv;  // argv[0]: an absolute path inside the box.
  std::vector<std::string> env;   // Appended to SandboxConfig::env.
  std::vector<RunFile> files;     // Written into /box before the run.
  std::string stdin_data;
  std::vector<std::string> collect;  // Files of /box to read back after the run.
  std::optional<RunLimits> limits;   // SandboxConfig::default_limits when unset.
};

enum class RunOutcome {
  kExited,       // exit_code holds the status.
  kSignaled,     // signal holds the signal (SIGSYS: a seccomp violation).
  kWallTimeout,  // Killed at the wall deadline.
  kCpuTimeout,   // The summed CPU time reached cpu_ms (or RLIMIT_CPU fired).
  kMemoryLimit,  // The cgroup OOM killer fired during the run.
  kOutputLimit,  // stdout or stderr went over output_bytes.
};
std::string_view RunOutcomeName(RunOutcome outcome);

struct CollectedFile {
  std::string name;
  // 0, or why it was not read: ENOENT, ELOOP (a symlink), EISDIR, EINVAL (not a regular
  // file), EFBIG (over collect_bytes), EXDEV (another mount).
  int error = 0;
  std::string contents;
};

struct RunResult {
  RunOutcome outcome = RunOutcome::kExited;
  int exit_code = -1;       // When the program exited.
  int signal = 0;           // When a signal ended it.
  std::string stdout_data;  // At most output_bytes each.
  std::string stderr_data;
  int64_t wall_ms = 0;
  int64_t cpu_ms = -1;               // -1 when unknown.
  int64_t peak_memory_bytes = -1;    // -1 when unknown.
  int64_t pids_limit_hits = -1;      // Forks refused by the pids cgroup; -1 when unknown.
  std::vector<CollectedFile> files;  // In RunSpec::collect order.

  // The collected file named `name`, or nullptr.
  const CollectedFile* File(std::string_view name) const;
  // "exited 0 (wall 12 ms, cpu 3 ms, peak 5.1 MiB)".
  std::string Summary() const;
};

// What the sandbox guarantees on this machine, established at Create by setting each
// protection up and by a probe run that reads its own credentials from inside the box.
struct SandboxReport {
  struct Guarantee {
    std::string name;
    bool holds = false;
    std::string detail;
  };
  std::vector<Guarantee> guarantees;

  bool Holds(std::string_view name) const;
  // One line per guarantee: "  [ok]      seccomp: ..." / "  [MISSING] cgroup memory: ...".
  std::string ToString() const;
};

class Slot;
class Cgroups;
struct SlotShared;

class Sandbox {
 public:
  // Sets up every slot and probes the box. InvalidArgumentError for a bad config;
  // FailedPreconditionError naming the protection that cannot be set up on this machine
  // (not root, no namespaces, pivot_root refused, cgroups missing with require_cgroups, a
  // probe that does not see the expected credentials).
  static StatusOr<std::unique_ptr<Sandbox>> Create(const SandboxConfig& config);
  // Kills every zygote and removes the cgroups. No Run may be in progress.
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const SandboxReport& report() const { return report_; }
  const SandboxConfig& config() const;
  // The uid each slot runs programs as.
  std::vector<uint32_t> slot_uids() const;

  // Runs one program. A result (whatever the program did) or an error when the sandbox
  // could not run it: InvalidArgumentError for a bad spec or limits, DeadlineExceededError
  // when no slot freed up within slot_wait_ms, FailedPreconditionError when the program
  // could not be started (argv[0] missing in the box, input files larger than box_bytes),
  // InternalError when the sandbox failed (its slot is rebuilt for the next run). An error
  // is never a pass.
  StatusOr<RunResult> Run(const RunSpec& spec);

 private:
  Sandbox();
  StatusOr<int> AcquireSlot();
  void ReleaseSlot(int index);

  std::unique_ptr<SlotShared> shared_;
  std::unique_ptr<Cgroups> cgroups_;
  std::vector<std::unique_ptr<Slot>> slots_;
  SandboxReport report_;

  std::mutex mu_;
  std::condition_variable slot_freed_;
  std::vector<bool> busy_;  // Guarded by mu_.
};

}  // namespace lightrl

#endif  // LIGHTRL_SANDBOX_SANDBOX_H_
