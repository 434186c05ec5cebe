// Per-slot cgroups: memory, pids and cpu limits and accounting for sandbox runs.
//
// Works with cgroup v2 (the controllers among memory, pids and cpu that are delegated to
// the caller's cgroup) and with the cgroup v1 hierarchies that are mounted (memory, pids,
// cpu, cpuacct), each controller from wherever it is available. Everything is created below the
// caller's own cgroup, so the sandbox never escapes the limits its container imposes:
//   <caller cgroup>/lightrl-sandbox-<pid>-<n>/slot-<i>
// On cgroup v2, when the caller's cgroup holds processes (the "no internal processes"
// rule makes enabling controllers fail with EBUSY), those processes are first moved into
// a leaf child "<caller cgroup>/lightrl-leaf" (as nsjail does).
// What could not be set up is not an error here: it is missing from the report, and the
// caller decides whether that is acceptable.
//
// Thread-safety: Cgroups is immutable after Create. A SlotCgroup is used by one thread at
// a time (its slot's owner).
#ifndef LIGHTRL_SANDBOX_CGROUPS_H_
#define LIGHTRL_SANDBOX_CGROUPS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace lightrl {

struct CgroupLimits {
  int64_t memory_bytes = 0;
  int64_t pids = 0;
  double cpu_cores = 0;
};

// Usage since SlotCgroup::StartRun; -1 where unknown.
struct CgroupUsage {
  int64_t cpu_ns = -1;
  int64_t peak_memory_bytes = -1;
  int64_t oom_kills = -1;
  int64_t pids_limit_hits = -1;
};

// A cgroup directory of one controller; empty when the controller is not used.
struct CgroupDir {
  std::string path;
  bool v2 = false;
  bool used() const { return !path.empty(); }
};

class SlotCgroup {
 public:
  SlotCgroup(const SlotCgroup&) = delete;
  SlotCgroup& operator=(const SlotCgroup&) = delete;
  // Removes the slot's directories; they must be empty (every member process reaped).
  ~SlotCgroup();

  // Open cgroup.procs files, one per hierarchy: a process that writes "0" into each of
  // them joins the slot. They are O_CLOEXEC.
  const std::vector<int>& procs_fds() const { return procs_fds_; }

  // Writes the limits that differ from the ones last applied. The cpu quota is
  // cpu_cores * 100 ms per 100 ms period. InternalError naming the file on failure.
  Status Apply(const CgroupLimits& limits);
  // Snapshots the counters and resets the memory peak where the kernel allows it.
  Status StartRun();
  // Total CPU time of the slot so far (ns), or -1 when not accounted. Cheap (one pread).
  int64_t CpuNanos() const;
  CgroupUsage Usage() const;

 private:
  friend class Cgroups;
  SlotCgroup() = default;
  // The value after `key` in a "key value" file open as `fd`, or -1.
  static int64_t Counter(int fd, const char* key);

  CgroupDir memory_, pids_, cpu_, cpuacct_;
  std::vector<std::string> dirs_;  // Created directories, removed in the destructor.
  std::vector<int> procs_fds_;
  int cpu_usage_fd_ = -1;    // cpu.stat (v2) or cpuacct.usage (v1)
  int memory_peak_fd_ = -1;  // memory.peak (v2) or memory.max_usage_in_bytes (v1)
  int oom_events_fd_ = -1;   // memory.events (v2) or memory.oom_control (v1)
  int pids_events_fd_ = -1;  // pids.events
  bool peak_resettable_ = false;
  CgroupLimits applied_;
  CgroupUsage start_;
};

class Cgroups {
 public:
  // Discovers the hierarchies of the calling process and creates this sandbox's cgroup
  // ("lightrl-sandbox-<pid>-<n>"): on cgroup v2 for the controllers delegated to the
  // caller's cgroup (CPU accounting through cpu.stat comes with any of them), on cgroup v1
  // for the others where mounted. Never fails; see report().
  static std::unique_ptr<Cgroups> Create();
  Cgroups(const Cgroups&) = delete;
  Cgroups& operator=(const Cgroups&) = delete;
  // Removes the sandbox's cgroup; every SlotCgroup must be destroyed first.
  ~Cgroups();

  bool memory() const { return memory_.used(); }
  bool pids() const { return pids_.used(); }
  bool cpu() const { return cpu_.used(); }
  bool cpu_accounting() const { return cpuacct_.used(); }
  // One line each for memory, pids, cpu and cpuacct: "cgroup memory: v2 /sys/fs/cgroup/..."
  // or "cgroup pids: missing (why neither v2 nor v1 could be used)".
  const std::vector<std::string>& report() const { return report_; }

  // Creates slot-<index> in every usable hierarchy.
  StatusOr<std::unique_ptr<SlotCgroup>> MakeSlot(int index) const;

 private:
  Cgroups() = default;
  // Uses cgroup v2 for the delegated controllers; returns why the others are not on v2.
  // `note` tells when processes had to be moved to a leaf cgroup.
  std::string SetUpV2(const std::string& instance_name, std::string* note);
  // Uses cgroup v1 for every controller still unused; returns why, per controller, v1 is
  // not used for those that stay unused.
  std::map<std::string, std::string> SetUpV1(const std::string& instance_name);

  CgroupDir memory_, pids_, cpu_, cpuacct_;  // Instance directories.
  std::vector<std::string> created_;
  std::vector<std::string> report_;
};

}  // namespace lightrl

#endif  // LIGHTRL_SANDBOX_CGROUPS_H_
