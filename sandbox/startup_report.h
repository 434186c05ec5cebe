// The sandbox's startup report: what it guarantees on this machine.
//
// Built from what Sandbox::Create set up (seccomp filter, cgroups, config) and from what a
// probe run inside the box saw of itself (/proc/self/status, /proc/net/dev,
// /proc/net/route), so that "uid", "capabilities", "no_new_privs", "seccomp" and "network"
// are observed, not assumed.
#ifndef LIGHTRL_SANDBOX_STARTUP_REPORT_H_
#define LIGHTRL_SANDBOX_STARTUP_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "sandbox/cgroups.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"

namespace lightrl {

// The probe program: prints its own credentials and network view.
RunSpec StartupProbe();

// `probe_stdout` is the output of StartupProbe() run in the slot of `slot_uids[0]`.
SandboxReport MakeStartupReport(const SandboxConfig& config, const SeccompFilter& seccomp,
                                const Cgroups& cgroups, const std::string& probe_stdout,
                                const std::vector<uint32_t>& slot_uids);

// FailedPreconditionError naming the first mandatory guarantee (all but the cgroup ones
// and "cpu accounting") that does not hold, with the whole report.
Status CheckMandatoryGuarantees(const SandboxReport& report);

}  // namespace lightrl

#endif  // LIGHTRL_SANDBOX_STARTUP_REPORT_H_
