#include "sandbox/slot.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "sandbox/box_protocol.h"

namespace lightrl {
namespace {

using box::Message;
using box::MessageType;
using box::SetupStep;
using Clock = std::chrono::steady_clock;

constexpr auto kReadyTimeout = std::chrono::seconds(20);
constexpr auto kDrainTimeout = std::chrono::seconds(1);
constexpr size_t kReadChunk = 64 * 1024;

std::string ErrnoText(int err) { return std::strerror(err); }

UniqueFd MakeMemfd(const char* name, const std::string& contents, bool seal) {
  unsigned flags = MFD_CLOEXEC | (seal ? MFD_ALLOW_SEALING : 0);
  UniqueFd fd(static_cast<int>(syscall(SYS_memfd_create, name, flags)));
  if (!fd.valid()) return fd;
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return UniqueFd();
    done += static_cast<size_t>(n);
  }
  if (lseek(fd.get(), 0, SEEK_SET) < 0) return UniqueFd();
  if (seal &&
      fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    return UniqueFd();
  }
  return fd;
}

std::string EncodeRequest(const RunSpec& spec, const RunLimits& limits, const SlotShared& shared) {
  box::RequestHeader h;
  const std::vector<std::string>& base_env = shared.config.env;
  h.argc = static_cast<uint32_t>(spec.argv.size());
  h.envc = static_cast<uint32_t>(base_env.size() + spec.env.size());
  h.file_count = static_cast<uint32_t>(spec.files.size());
  h.collect_count = static_cast<uint32_t>(spec.collect.size());
  h.cpu_seconds = static_cast<uint64_t>((limits.cpu_ms + 999) / 1000);
  h.file_size_bytes = static_cast<uint64_t>(limits.file_size_bytes);
  h.open_files = static_cast<uint64_t>(limits.open_files);
  // One above the pids cgroup (which also counts the zygote), so that the cgroup binds
  // first where it exists and RLIMIT_NPROC is the backstop where it does not.
  h.processes = static_cast<uint64_t>(limits.processes) + 1;
  h.stack_bytes = static_cast<uint64_t>(limits.stack_bytes);
  h.address_space_bytes = shared.memory_cgroup ? 0 : static_cast<uint64_t>(limits.memory_bytes);
  h.collect_max_bytes = static_cast<uint64_t>(limits.collect_bytes);
  std::string out(reinterpret_cast<const char*>(&h), sizeof(h));
  for (const std::string& a : spec.argv) box::AppendString(&out, a);
  for (const std::string& e : base_env) box::AppendString(&out, e);
  for (const std::string& e : spec.env) box::AppendString(&out, e);
  for (const RunFile& f : spec.files) {
    box::AppendString(&out, f.name);
    box::AppendU32(&out, f.executable ? 0755 : 0644);
    box::AppendU64(&out, f.contents.size());
    out.append(f.contents);
  }
  for (const std::string& c : spec.collect) box::AppendString(&out, c);
  return out;
}

// Parses the zygote's collected-files memfd (box_protocol.h).
StatusOr<std::vector<CollectedFile>> ParseCollected(int fd, const std::vector<std::string>& names) {
  struct stat st;
  if (fstat(fd, &st) < 0) return InternalError("sandbox: fstat of collected files failed");
  size_t size = static_cast<size_t>(st.st_size);
  std::vector<CollectedFile> files;
  if (size == 0) return InternalError("sandbox: empty collected-files record");
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) return InternalError("sandbox: cannot map collected files");
  const char* p = static_cast<const char*>(map);
  const char* end = p + size;
  Status status;
  for (const std::string& name : names) {
    int32_t error;
    uint64_t length;
    if (end - p < static_cast<ptrdiff_t>(sizeof(error) + sizeof(length))) {
      status = InternalError("sandbox: truncated collected-files record");
      break;
    }
    std::memcpy(&error, p, sizeof(error));
    std::memcpy(&length, p + sizeof(error), sizeof(length));
    p += sizeof(error) + sizeof(length);
    if (static_cast<uint64_t>(end - p) < length) {
      status = InternalError("sandbox: truncated collected file " + name);
      break;
    }
    files.push_back(CollectedFile{name, error, std::string(p, length)});
    p += length;
  }
  munmap(map, size);
  if (!status.ok()) return status;
  return files;
}

// Sends `m` with `fds` as SCM_RIGHTS.
Status SendMessage(int socket, const Message& m, const int* fds, int nfds) {
  iovec iov{const_cast<Message*>(&m), sizeof(m)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof(m))) {
    return UnavailableError("sandbox: cannot reach the zygote: " + ErrnoText(errno));
  }
  return Status::Ok();
}

// Receives one message and at most one descriptor. Returns recvmsg's result.
ssize_t ReceiveMessage(int socket, Message* m, UniqueFd* fd) {
  iovec iov{m, sizeof(*m)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  cmsghdr* c = n > 0 ? CMSG_FIRSTHDR(&msg) : nullptr;
  if (c != nullptr && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
    int received;
    std::memcpy(&received, CMSG_DATA(c), sizeof(int));
    fd->Reset(received);
  }
  return n;
}

int ToMillis(Clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<int>(std::clamp<int64_t>(ms + 1, 0, 60000));
}

std::string StepError(const Message& m, const RunSpec* spec) {
  std::string what = box::SetupStepName(m.failed_step);
  if (m.failed_step == SetupStep::kExec && spec != nullptr && !spec->argv.empty()) {
    what = "execve of '" + spec->argv[0] + "'";
  }
  return what + " failed: " + ErrnoText(m.error);
}

}  // namespace

RunOutcome Slot::Classify(KillReason killed, const RunResult& result, int64_t oom_kills,
                          const RunLimits& limits) {
  if (killed == KillReason::kWall) return RunOutcome::kWallTimeout;
  if (killed == KillReason::kOutput) return RunOutcome::kOutputLimit;
  if (killed == KillReason::kCpu || result.signal == SIGXCPU || result.cpu_ms >= limits.cpu_ms) {
    return RunOutcome::kCpuTimeout;
  }
  if (oom_kills > 0) return RunOutcome::kMemoryLimit;
  return result.signal != 0 ? RunOutcome::kSignaled : RunOutcome::kExited;
}

struct Slot::Pipes {
  UniqueFd stdout_read, stdout_write, stderr_read, stderr_write;
};

Slot::Slot(int index, const SlotShared* shared, UidLease lease, std::unique_ptr<SlotCgroup> cgroup)
    : index_(index), shared_(shared), lease_(std::move(lease)), cgroup_(std::move(cgroup)) {
  const SandboxConfig& c = shared->config;
  ZygoteConfig& z = zygote_config_;
  z.uid = z.gid = lease_.uid();
  z.system_paths = c.system_paths;
  z.box_bytes = c.box_bytes;
  z.tmp_bytes = c.tmp_bytes;
  z.shm_bytes = c.shm_bytes;
  z.max_inodes = c.max_inodes;
  z.seccomp = &shared->seccomp;
  z.cap_last_cap = shared->cap_last_cap;
  std::string id = std::to_string(lease_.uid());
  z.etc_passwd = "root:x:0:0:root:/root:/bin/sh\nsandbox:x:" + id + ":" + id +
                 ":sandbox:/box:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
  z.etc_group = "root:x:0:\nsandbox:x:" + id + ":\nnogroup:x:65534:\n";
  z.etc_hosts = "127.0.0.1 localhost sandbox\n::1 localhost ip6-localhost\n";
  if (cgroup_ != nullptr) z.cgroup_procs_fds = cgroup_->procs_fds();
}

Slot::~Slot() { Stop(); }

std::string Slot::Name() const { return "sandbox slot " + std::to_string(index_); }

Status Slot::Start() {
  if (pid_ > 0) return Status::Ok();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    return InternalError(Name() + ": socketpair failed: " + ErrnoText(errno));
  }
  socket_.Reset(sv[0]);
  UniqueFd zygote_end(sv[1]);
  zygote_config_.socket_fd = sv[1];
  // The child must not run a handler of this process before it resets them all.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = syscall(
      SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
      nullptr, nullptr, nullptr, 0);
  if (pid == 0) ZygoteMain(zygote_config_);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    socket_.Reset();
    return FailedPreconditionError(Name() + ": cannot create namespaces (clone): " +
                                   ErrnoText(clone_errno) + "; the sandbox needs root");
  }
  pid_ = static_cast<pid_t>(pid);
  pidfd_.Reset(static_cast<int>(syscall(SYS_pidfd_open, pid_, 0)));
  zygote_end.Reset();
  pollfd p{socket_.get(), POLLIN, 0};
  int ready = poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kReadyTimeout).count()));
  Message m;
  UniqueFd unused;
  ssize_t n = ready > 0 ? ReceiveMessage(socket_.get(), &m, &unused) : -1;
  if (n != sizeof(m) || m.type != MessageType::kReady) {
    Stop();
    return InternalError(Name() + ": the zygote exited or hung while building the box");
  }
  if (m.failed_step != SetupStep::kNone) {
    Stop();
    return FailedPreconditionError(Name() + ": building the box: " + StepError(m, nullptr));
  }
  return Status::Ok();
}

void Slot::Stop() {
  if (pid_ <= 0) return;
  if (pidfd_.valid()) {
    syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  } else {
    kill(pid_, SIGKILL);
  }
  // Returns once the kernel has killed every process of the zygote's PID namespace.
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  pidfd_.Reset();
  socket_.Reset();
}

Status Slot::SendRun(const UniqueFd& request, const UniqueFd& stdin_fd, const Pipes& pipes) {
  Message m;
  m.type = MessageType::kRun;
  int fds[4] = {request.get(), pipes.stdout_write.get(), pipes.stderr_write.get(), stdin_fd.get()};
  return SendMessage(socket_.get(), m, fds, stdin_fd.valid() ? 4 : 3);
}

Status Slot::Kill(KillReason reason, KillReason* current) {
  if (*current != KillReason::kNone) return Status::Ok();
  *current = reason;
  Message m;
  m.type = MessageType::kKill;
  return SendMessage(socket_.get(), m, nullptr, 0);
}

StatusOr<RunResult> Slot::Run(const RunSpec& spec, const RunLimits& limits) {
  RETURN_IF_ERROR(Start());
  if (cgroup_ != nullptr) {
    Status applied = cgroup_->Apply({limits.memory_bytes, limits.processes + 1, limits.cpu_cores});
    if (!applied.ok()) return applied.WithContext(Name());
    RETURN_IF_ERROR(cgroup_->StartRun());
  }
  UniqueFd request = MakeMemfd("lightrl-request", EncodeRequest(spec, limits, *shared_), false);
  UniqueFd stdin_fd;
  if (!spec.stdin_data.empty()) stdin_fd = MakeMemfd("lightrl-stdin", spec.stdin_data, true);
  if (!request.valid() || (!spec.stdin_data.empty() && !stdin_fd.valid())) {
    return InternalError(Name() + ": cannot create memfds: " + ErrnoText(errno));
  }
  Pipes pipes;
  for (auto [read_end, write_end] : {std::pair{&pipes.stdout_read, &pipes.stdout_write},
                                     std::pair{&pipes.stderr_read, &pipes.stderr_write}}) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return InternalError(Name() + ": pipe2: " + ErrnoText(errno));
    read_end->Reset(p[0]);
    write_end->Reset(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
  }
  Status sent = SendRun(request, stdin_fd, pipes);
  if (!sent.ok()) {  // The zygote died between runs; nothing of this run started.
    Stop();
    RETURN_IF_ERROR(Start());
    RETURN_IF_ERROR(SendRun(request, stdin_fd, pipes));
  }
  pipes.stdout_write.Reset();
  pipes.stderr_write.Reset();
  StatusOr<RunResult> result = Supervise(spec, limits, pipes);
  if (!result.ok() && result.status().code() != StatusCode::kFailedPrecondition) Stop();
  return result;
}

StatusOr<RunResult> Slot::Supervise(const RunSpec& spec, const RunLimits& limits, Pipes& pipes) {
  RunResult result;
  struct Stream {
    UniqueFd* fd;
    std::string* data;
    bool truncated = false;
  } streams[2] = {{&pipes.stdout_read, &result.stdout_data},
                  {&pipes.stderr_read, &result.stderr_data}};
  const Clock::time_point start = Clock::now();
  const Clock::time_point wall_deadline = start + std::chrono::milliseconds(limits.wall_ms);
  const auto cpu_interval = std::chrono::milliseconds(shared_->config.cpu_check_ms);
  const int64_t cpu_start = cgroup_ != nullptr ? cgroup_->CpuNanos() : -1;
  Clock::time_point next_cpu_check = start + cpu_interval;
  Clock::time_point kill_deadline = Clock::time_point::max();
  Clock::time_point drain_deadline = Clock::time_point::max();
  KillReason killed = KillReason::kNone;
  bool reported = false;
  Message reply;
  UniqueFd collected;
  char buf[kReadChunk];
  while (!reported || streams[0].fd->valid() || streams[1].fd->valid()) {
    Clock::time_point now = Clock::now();
    if (!reported) {
      if (now >= wall_deadline) RETURN_IF_ERROR(Kill(KillReason::kWall, &killed));
      if (cpu_start >= 0 && now >= next_cpu_check) {
        next_cpu_check = now + cpu_interval;
        if (cgroup_->CpuNanos() - cpu_start >= limits.cpu_ms * 1000000) {
          RETURN_IF_ERROR(Kill(KillReason::kCpu, &killed));
        }
      }
      if (killed != KillReason::kNone && kill_deadline == Clock::time_point::max()) {
        kill_deadline = now + std::chrono::milliseconds(shared_->config.kill_grace_ms);
      }
      if (now >= kill_deadline) {
        return InternalError(Name() + ": the zygote did not report within kill_grace_ms");
      }
    } else if (now >= drain_deadline) {
      break;  // A descendant kept a stream open; never expected after the kill sweep.
    }
    Clock::time_point wake =
        reported ? drain_deadline
                 : std::min({wall_deadline, kill_deadline,
                             cpu_start >= 0 ? next_cpu_check : Clock::time_point::max()});
    pollfd fds[3];
    int nfds = 0;
    for (const Stream& s : streams) {
      if (s.fd->valid()) fds[nfds++] = {s.fd->get(), POLLIN, 0};
    }
    int socket_index = -1;
    if (!reported) {
      socket_index = nfds;
      fds[nfds++] = {socket_.get(), POLLIN, 0};
    }
    if (poll(fds, static_cast<nfds_t>(nfds), ToMillis(wake - now)) < 0 && errno != EINTR) {
      return InternalError(Name() + ": poll: " + ErrnoText(errno));
    }
    for (Stream& s : streams) {
      if (!s.fd->valid()) continue;
      for (;;) {
        ssize_t n = read(s.fd->get(), buf, sizeof(buf));
        if (n > 0) {
          size_t room = static_cast<size_t>(limits.output_bytes) - s.data->size();
          s.data->append(buf, std::min(room, static_cast<size_t>(n)));
          if (static_cast<size_t>(n) > room && !s.truncated) {
            s.truncated = true;
            RETURN_IF_ERROR(Kill(KillReason::kOutput, &killed));
          }
          continue;
        }
        if (n == 0) s.fd->Reset();
        break;  // EOF, EAGAIN or an error (treated as the end of the stream).
      }
    }
    if (socket_index >= 0 && fds[socket_index].revents != 0) {
      ssize_t n = ReceiveMessage(socket_.get(), &reply, &collected);
      if (n == 0 || (n < 0 && errno != EAGAIN)) {
        return InternalError(Name() + ": the zygote died during the run");
      }
      if (n == sizeof(reply) && reply.type == MessageType::kResult) {
        reported = true;
        result.wall_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        drain_deadline = Clock::now() + kDrainTimeout;
      }
    }
  }
  if (reply.failed_step != SetupStep::kNone) {
    std::string message = Name() + ": " + StepError(reply, &spec);
    // The request could not be carried out (no such program, input files over the work
    // dir's size); the zygote itself is fine.
    if (reply.failed_step == SetupStep::kExec || reply.failed_step == SetupStep::kWriteFile) {
      return FailedPreconditionError(message);
    }
    return InternalError(message);
  }
  CgroupUsage usage = cgroup_ != nullptr ? cgroup_->Usage() : CgroupUsage();
  result.cpu_ms = usage.cpu_ns >= 0 ? usage.cpu_ns / 1000000 : reply.cpu_us / 1000;
  result.peak_memory_bytes = usage.peak_memory_bytes;
  result.pids_limit_hits = usage.pids_limit_hits;
  int status = reply.wait_status;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  result.outcome = Classify(killed, result, usage.oom_kills, limits);
  if (reply.collected != 0) {
    if (!collected.valid()) return InternalError(Name() + ": collected files missing");
    ASSIGN_OR_RETURN(result.files, ParseCollected(collected.get(), spec.collect));
  }
  return result;
}

}  // namespace lightrl
