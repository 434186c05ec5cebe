// Helpers shared by the sandbox tests: host-side checks that nothing of a run survived.
#ifndef LIGHTRL_SANDBOX_SANDBOX_TEST_UTIL_H_
#define LIGHTRL_SANDBOX_SANDBOX_TEST_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sandbox/sandbox.h"

namespace lightrl {

// Pids of host processes whose real uid is one of `uids`.
std::vector<pid_t> ProcessesOfUids(const std::vector<uint32_t>& uids);

// Pids of the calling process's children.
std::vector<pid_t> ChildrenOfThisProcess();

// The cgroup directories the report names (empty when cgroups are not used).
std::vector<std::string> CgroupDirs(const SandboxReport& report);

// Limits small enough for a fast test suite.
SandboxConfig SmallSandboxConfig(int slots);

// Creates the sandbox or fails the current test with the reason.
std::unique_ptr<Sandbox> CreateOrFail(const SandboxConfig& config);

// Destroys `sandbox` and checks that no process of its uids and no child process is
// left, and that its cgroups are gone. Adds test failures otherwise.
void DestroyAndCheckClean(std::unique_ptr<Sandbox> sandbox);

std::string ReadWholeFile(const std::string& path);

}  // namespace lightrl

#endif  // LIGHTRL_SANDBOX_SANDBOX_TEST_UTIL_H_
