#include "sandbox/sandbox.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "sandbox/cgroups.h"
#include "sandbox/slot.h"
#include "sandbox/startup_report.h"

namespace lightrl {
namespace {

class LimitChecker {
 public:
  explicit LimitChecker(std::string prefix) : prefix_(std::move(prefix)) {}
  void AtLeast(const char* field, int64_t value, int64_t min) {
    if (status_.ok() && value < min) {
      status_ = InvalidArgumentError(prefix_ + field + " must be >= " + std::to_string(min) +
                                     ", got " + std::to_string(value));
    }
  }
  Status status() const { return status_; }

 private:
  std::string prefix_;
  Status status_;
};

bool PlainName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.size() < 256 &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

Status ValidateSpec(const RunSpec& spec) {
  if (spec.argv.empty()) return InvalidArgumentError("sandbox: RunSpec.argv is empty");
  if (spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return InvalidArgumentError("sandbox: RunSpec.argv[0] must be an absolute path, got '" +
                                spec.argv[0] + "'");
  }
  for (const std::string& a : spec.argv) {
    if (HasNul(a)) return InvalidArgumentError("sandbox: RunSpec.argv holds a NUL byte");
  }
  for (const std::string& e : spec.env) {
    if (HasNul(e) || e.find('=') == std::string::npos || e[0] == '=') {
      return InvalidArgumentError("sandbox: RunSpec.env entry '" + e + "' is not KEY=VALUE");
    }
  }
  std::set<std::string> names;
  for (const RunFile& f : spec.files) {
    if (!PlainName(f.name) || !names.insert(f.name).second) {
      return InvalidArgumentError("sandbox: RunSpec.files name '" + f.name +
                                  "' is not a unique plain file name");
    }
  }
  for (const std::string& c : spec.collect) {
    if (!PlainName(c)) {
      return InvalidArgumentError("sandbox: RunSpec.collect name '" + c +
                                  "' is not a plain file name");
    }
  }
  if (spec.argv.size() > 4096 || spec.env.size() > 4000 || spec.collect.size() > 4096) {
    return InvalidArgumentError("sandbox: RunSpec has more than 4096 argv, env or collect entries");
  }
  return Status::Ok();
}

int CapLastCap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = 40;
  in >> last;
  return last;
}

}  // namespace

Status RunLimits::Validate() const {
  LimitChecker check("RunLimits.");
  check.AtLeast("wall_ms", wall_ms, 1);
  check.AtLeast("cpu_ms", cpu_ms, 1);
  check.AtLeast("memory_bytes", memory_bytes, 4 * kMiB);
  check.AtLeast("processes", processes, 1);
  check.AtLeast("output_bytes", output_bytes, 1);
  check.AtLeast("file_size_bytes", file_size_bytes, 1);
  check.AtLeast("open_files", open_files, 4);
  check.AtLeast("stack_bytes", stack_bytes, 64 * 1024);
  check.AtLeast("collect_bytes", collect_bytes, 0);
  RETURN_IF_ERROR(check.status());
  if (!(cpu_cores > 0 && cpu_cores <= 1024)) {
    return InvalidArgumentError("RunLimits.cpu_cores must be in (0, 1024], got " +
                                std::to_string(cpu_cores));
  }
  return Status::Ok();
}

Status SandboxConfig::Validate() const {
  LimitChecker check("SandboxConfig.");
  check.AtLeast("slots", slots, 1);
  check.AtLeast("first_uid", first_uid, 1);
  check.AtLeast("uid_count", uid_count, slots);
  check.AtLeast("box_bytes", box_bytes, 1 * kMiB);
  check.AtLeast("tmp_bytes", tmp_bytes, 1 * kMiB);
  check.AtLeast("shm_bytes", shm_bytes, 1 * kMiB);
  check.AtLeast("max_inodes", max_inodes, 64);
  check.AtLeast("kill_grace_ms", kill_grace_ms, 1);
  check.AtLeast("cpu_check_ms", cpu_check_ms, 1);
  RETURN_IF_ERROR(check.status());
  if (static_cast<uint64_t>(first_uid) + uid_count > 0xfffffffeULL) {
    return InvalidArgumentError("SandboxConfig.first_uid + uid_count exceeds the uid range");
  }
  if (state_dir.empty() || state_dir[0] != '/') {
    return InvalidArgumentError("SandboxConfig.state_dir must be an absolute path");
  }
  for (const std::string& p : system_paths) {
    if (p.size() < 2 || p[0] != '/' || p.find("..") != std::string::npos) {
      return InvalidArgumentError("SandboxConfig.system_paths entry '" + p +
                                  "' must be an absolute path other than /");
    }
  }
  for (const std::string& e : env) {
    if (e.find('=') == std::string::npos) {
      return InvalidArgumentError("SandboxConfig.env entry '" + e + "' is not KEY=VALUE");
    }
  }
  Status limits = default_limits.Validate();
  if (!limits.ok()) return limits.WithContext("SandboxConfig.default_limits");
  return Status::Ok();
}

std::string_view RunOutcomeName(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::kExited:
      return "exited";
    case RunOutcome::kSignaled:
      return "signaled";
    case RunOutcome::kWallTimeout:
      return "wall_timeout";
    case RunOutcome::kCpuTimeout:
      return "cpu_timeout";
    case RunOutcome::kMemoryLimit:
      return "memory_limit";
    case RunOutcome::kOutputLimit:
      return "output_limit";
  }
  return "unknown";
}

const CollectedFile* RunResult::File(std::string_view name) const {
  for (const CollectedFile& f : files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string RunResult::Summary() const {
  std::string out(RunOutcomeName(outcome));
  if (outcome == RunOutcome::kExited) out += " " + std::to_string(exit_code);
  if (signal != 0)
    out += std::string(" by signal ") + std::to_string(signal) + " (" + sigabbrev_np(signal) + ")";
  out += " (wall " + std::to_string(wall_ms) + " ms, cpu " + std::to_string(cpu_ms) + " ms";
  if (peak_memory_bytes >= 0) {
    char peak[32];
    std::snprintf(peak, sizeof(peak), "%.1f", static_cast<double>(peak_memory_bytes) / kMiB);
    out += std::string(", peak ") + peak + " MiB";
  }
  return out + ")";
}

bool SandboxReport::Holds(std::string_view name) const {
  for (const Guarantee& g : guarantees) {
    if (g.name == name) return g.holds;
  }
  return false;
}

std::string SandboxReport::ToString() const {
  std::string out = "sandbox guarantees:\n";
  for (const Guarantee& g : guarantees) {
    out += std::string(g.holds ? "  [ok]      " : "  [MISSING] ") + g.name + ": " + g.detail + "\n";
  }
  return out;
}

Sandbox::Sandbox() = default;

Sandbox::~Sandbox() {
  slots_.clear();  // Zygotes first: a cgroup can only be removed once empty.
  cgroups_.reset();
}

const SandboxConfig& Sandbox::config() const { return shared_->config; }

std::vector<uint32_t> Sandbox::slot_uids() const {
  std::vector<uint32_t> uids;
  for (const std::unique_ptr<Slot>& slot : slots_) uids.push_back(slot->uid());
  return uids;
}

StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<Sandbox> sandbox(new Sandbox());
  sandbox->shared_ = std::make_unique<SlotShared>();
  SlotShared& shared = *sandbox->shared_;
  shared.config = config;
  ASSIGN_OR_RETURN(shared.seccomp, BuildSeccompFilter());
  shared.cap_last_cap = CapLastCap();
  sandbox->cgroups_ = Cgroups::Create();
  const Cgroups& cg = *sandbox->cgroups_;
  shared.memory_cgroup = cg.memory();
  if (config.require_cgroups && !(cg.memory() && cg.pids() && cg.cpu())) {
    std::string lines;
    for (const std::string& l : cg.report()) lines += "\n  " + l;
    return FailedPreconditionError(
        "sandbox: require_cgroups is set but memory, pids and cpu cgroups are not all usable:" +
        lines);
  }
  bool any_cgroup = cg.memory() || cg.pids() || cg.cpu() || cg.cpu_accounting();
  for (int i = 0; i < config.slots; ++i) {
    ASSIGN_OR_RETURN(UidLease lease,
                     UidLease::Acquire(config.state_dir, config.first_uid, config.uid_count));
    std::unique_ptr<SlotCgroup> slot_cgroup;
    if (any_cgroup) {
      ASSIGN_OR_RETURN(slot_cgroup, cg.MakeSlot(i));
    }
    sandbox->slots_.push_back(
        std::make_unique<Slot>(i, &shared, std::move(lease), std::move(slot_cgroup)));
    RETURN_IF_ERROR(sandbox->slots_.back()->Start());
  }
  sandbox->busy_.assign(static_cast<size_t>(config.slots), false);

  RunSpec probe = StartupProbe();
  StatusOr<RunResult> probed = sandbox->slots_[0]->Run(probe, RunLimits());
  if (!probed.ok()) return probed.status().WithContext("sandbox: probe run");
  if (probed->outcome != RunOutcome::kExited || probed->exit_code != 0) {
    return FailedPreconditionError("sandbox: probe run failed: " + probed->Summary() + ": " +
                                   probed->stderr_data);
  }
  sandbox->report_ =
      MakeStartupReport(config, shared.seccomp, cg, probed->stdout_data, sandbox->slot_uids());
  RETURN_IF_ERROR(CheckMandatoryGuarantees(sandbox->report_));
  return sandbox;
}

StatusOr<int> Sandbox::AcquireSlot() {
  std::unique_lock<std::mutex> lock(mu_);
  auto free_slot = [this] {
    for (size_t i = 0; i < busy_.size(); ++i) {
      if (!busy_[i]) return static_cast<int>(i);
    }
    return -1;
  };
  int64_t wait_ms = shared_->config.slot_wait_ms;
  auto available = [&] { return free_slot() >= 0; };
  if (wait_ms < 0) {
    slot_freed_.wait(lock, available);
  } else if (!slot_freed_.wait_for(lock, std::chrono::milliseconds(wait_ms), available)) {
    return DeadlineExceededError("sandbox: no slot free within slot_wait_ms (" +
                                 std::to_string(wait_ms) + " ms)");
  }
  int index = free_slot();
  busy_[static_cast<size_t>(index)] = true;
  return index;
}

void Sandbox::ReleaseSlot(int index) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    busy_[static_cast<size_t>(index)] = false;
  }
  slot_freed_.notify_one();
}

StatusOr<RunResult> Sandbox::Run(const RunSpec& spec) {
  RETURN_IF_ERROR(ValidateSpec(spec));
  const RunLimits& limits = spec.limits ? *spec.limits : shared_->config.default_limits;
  RETURN_IF_ERROR(limits.Validate());
  ASSIGN_OR_RETURN(int index, AcquireSlot());
  StatusOr<RunResult> result = slots_[static_cast<size_t>(index)]->Run(spec, limits);
  ReleaseSlot(index);
  return result;
}

}  // namespace lightrl
