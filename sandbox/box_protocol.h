// The private protocol between a sandbox slot's supervisor and its zygote.
//
// Messages travel over a SOCK_SEQPACKET socketpair, descriptors as SCM_RIGHTS:
//   zygote -> supervisor  kReady    once, after the box is built (or failed_step != kNone)
//   supervisor -> zygote  kRun      fds: [request memfd, stdout pipe, stderr pipe, stdin]
//                                   (without stdin the program reads /dev/null)
//   supervisor -> zygote  kKill     kill every process of the current run
//   zygote -> supervisor  kResult   after the run's processes are all dead and reaped;
//                                   fds: [collected-files memfd] when files were requested
// A request memfd holds a RequestHeader followed by length-prefixed NUL-terminated
// strings: argv, then env, then files (name, then u32 mode and u64 size and the bytes),
// then the names to collect. A collected-files memfd holds, per requested name in order,
// an i32 status (0, or the errno that refused it) and a u64 size followed by the bytes.
#ifndef LIGHTRL_SANDBOX_BOX_PROTOCOL_H_
#define LIGHTRL_SANDBOX_BOX_PROTOCOL_H_

#include <cstdint>
#include <string>

namespace lightrl::box {

inline constexpr uint32_t kMagic = 0x6c727362;  // "lrsb"

enum class MessageType : uint32_t { kReady = 1, kRun = 2, kKill = 3, kResult = 4 };

// Where box setup or a run's child setup failed.
enum class SetupStep : int32_t {
  kNone = 0,
  kCgroupJoin,
  kCgroupNamespace,
  kOomScore,
  kPrivateMounts,
  kRootTmpfs,
  kBindSystemPath,
  kDevNodes,
  kEtcFiles,
  kPivotRoot,
  kProc,
  kReadOnlyRoot,
  kScratchMounts,
  kHostname,
  kLoopback,
  kSignals,
  kRequest,
  kWriteFile,
  kSpawn,
  kSession,
  kStdio,
  kWorkDir,
  kRlimit,
  kBoundingSet,
  kGroups,
  kGid,
  kUid,
  kCapabilities,
  kNoNewPrivs,
  kSeccomp,
  kExec,
  kCollect,
};

// "pivot_root", "seccomp", ... for error messages.
const char* SetupStepName(SetupStep step);

struct Message {
  uint32_t magic = kMagic;
  MessageType type = MessageType::kReady;
  SetupStep failed_step = SetupStep::kNone;  // kReady, kResult
  int32_t error = 0;                         // errno of failed_step
  int32_t wait_status = 0;                   // kResult: the main process's wait status
  int64_t cpu_us = 0;                        // kResult: CPU of every reaped process
  int32_t collected = 0;                     // kResult: 1 when a memfd is attached
};

struct RequestHeader {
  uint32_t magic = kMagic;
  uint32_t argc = 0;
  uint32_t envc = 0;
  uint32_t file_count = 0;
  uint32_t collect_count = 0;
  // rlimits; 0 leaves the limit unset (RLIM_INFINITY for address space).
  uint64_t cpu_seconds = 0;
  uint64_t file_size_bytes = 0;
  uint64_t open_files = 0;
  uint64_t processes = 0;
  uint64_t stack_bytes = 0;
  uint64_t address_space_bytes = 0;
  uint64_t collect_max_bytes = 0;
};

// Appends `s` as u32 length (including the NUL) + bytes + NUL.
void AppendString(std::string* out, const std::string& s);
void AppendU32(std::string* out, uint32_t v);
void AppendU64(std::string* out, uint64_t v);

}  // namespace lightrl::box

#endif  // LIGHTRL_SANDBOX_BOX_PROTOCOL_H_
