#include "sandbox/box_protocol.h"

namespace lightrl::box {

const char* SetupStepName(SetupStep step) {
  switch (step) {
    case SetupStep::kNone:
      return "none";
    case SetupStep::kCgroupJoin:
      return "joining the slot cgroup";
    case SetupStep::kCgroupNamespace:
      return "cgroup namespace";
    case SetupStep::kOomScore:
      return "oom_score_adj";
    case SetupStep::kPrivateMounts:
      return "private mount propagation";
    case SetupStep::kRootTmpfs:
      return "root tmpfs";
    case SetupStep::kBindSystemPath:
      return "read-only bind of a system path";
    case SetupStep::kDevNodes:
      return "/dev nodes";
    case SetupStep::kEtcFiles:
      return "/etc files";
    case SetupStep::kPivotRoot:
      return "pivot_root";
    case SetupStep::kProc:
      return "mounting /proc";
    case SetupStep::kReadOnlyRoot:
      return "read-only root";
    case SetupStep::kScratchMounts:
      return "tmpfs work dir, /tmp and /dev/shm";
    case SetupStep::kHostname:
      return "hostname";
    case SetupStep::kLoopback:
      return "loopback interface";
    case SetupStep::kSignals:
      return "signal setup";
    case SetupStep::kRequest:
      return "reading the run request";
    case SetupStep::kWriteFile:
      return "writing an input file";
    case SetupStep::kSpawn:
      return "spawning the program";
    case SetupStep::kSession:
      return "setsid";
    case SetupStep::kStdio:
      return "standard streams";
    case SetupStep::kWorkDir:
      return "chdir to the work dir";
    case SetupStep::kRlimit:
      return "rlimits";
    case SetupStep::kBoundingSet:
      return "capability bounding set";
    case SetupStep::kGroups:
      return "setgroups";
    case SetupStep::kGid:
      return "setresgid";
    case SetupStep::kUid:
      return "setresuid";
    case SetupStep::kCapabilities:
      return "dropping capabilities";
    case SetupStep::kNoNewPrivs:
      return "no_new_privs";
    case SetupStep::kSeccomp:
      return "seccomp";
    case SetupStep::kExec:
      return "execve";
    case SetupStep::kCollect:
      return "collecting output files";
  }
  return "unknown step";
}

void AppendU32(std::string* out, uint32_t v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

void AppendU64(std::string* out, uint64_t v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

void AppendString(std::string* out, const std::string& s) {
  AppendU32(out, static_cast<uint32_t>(s.size() + 1));
  out->append(s);
  out->push_back('\0');
}

}  // namespace lightrl::box
