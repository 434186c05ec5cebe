// The supervisor side of one sandbox slot: owns the slot's zygote (sandbox/zygote.h),
// its leased uid and its cgroup, and drives one run at a time.
//
// Thread-safety: a Slot is used by one thread at a time (Sandbox hands slots out).
#ifndef LIGHTRL_SANDBOX_SLOT_H_
#define LIGHTRL_SANDBOX_SLOT_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "core/status.h"
#include "sandbox/cgroups.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"
#include "sandbox/uid_lease.h"
#include "sandbox/unique_fd.h"
#include "sandbox/zygote.h"

namespace lightrl {

// Immutable state every slot of a sandbox reads.
struct SlotShared {
  SandboxConfig config;
  SeccompFilter seccomp;
  int cap_last_cap = 0;
  bool memory_cgroup = false;
};

class Slot {
 public:
  Slot(int index, const SlotShared* shared, UidLease lease, std::unique_ptr<SlotCgroup> cgroup);
  ~Slot();  // Kills the zygote (and so everything in its namespaces).
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

  uint32_t uid() const { return lease_.uid(); }

  // Starts the zygote unless it runs. FailedPreconditionError naming the setup step that
  // failed (the box cannot be built on this machine).
  Status Start();

  // One run, starting the zygote first if needed. Errors as Sandbox::Run; after an
  // InternalError the zygote has been torn down and the next Run starts a new one.
  StatusOr<RunResult> Run(const RunSpec& spec, const RunLimits& limits);

 private:
  enum class KillReason { kNone, kWall, kCpu, kOutput };
  struct Pipes;

  void Stop();
  Status SendRun(const UniqueFd& request, const UniqueFd& stdin_fd, const Pipes& pipes);
  StatusOr<RunResult> Supervise(const RunSpec& spec, const RunLimits& limits, Pipes& pipes);
  Status Kill(KillReason reason, KillReason* current);
  // The outcome of a finished run, in the order of sandbox.h's RunOutcome contract.
  static RunOutcome Classify(KillReason killed, const RunResult& result, int64_t oom_kills,
                             const RunLimits& limits);
  std::string Name() const;

  int index_;
  const SlotShared* shared_;
  UidLease lease_;
  std::unique_ptr<SlotCgroup> cgroup_;
  ZygoteConfig zygote_config_;
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd socket_;
};

}  // namespace lightrl

#endif  // LIGHTRL_SANDBOX_SLOT_H_
