#include "sandbox/zygote.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "sandbox/box_protocol.h"

namespace lightrl {
namespace {

using box::Message;
using box::MessageType;
using box::RequestHeader;
using box::SetupStep;

constexpr int kSocketFd = 3;      // The supervisor socket after the fd shuffle.
constexpr char kBase[] = "/tmp";  // Where the new root is built before pivot_root.
constexpr size_t kChildStackBytes = 256 * 1024;
constexpr unsigned kScratchFlags = MS_NOSUID | MS_NODEV;

// A bounded C string built without allocation.
class Text {
 public:
  Text() { buf_[0] = '\0'; }
  Text& Add(const char* s) {
    while (*s != '\0' && len_ + 1 < sizeof(buf_)) buf_[len_++] = *s++;
    if (*s != '\0') overflow_ = true;
    buf_[len_] = '\0';
    return *this;
  }
  Text& Add(uint64_t v) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    char s[24];
    for (int i = 0; i < n; ++i) s[i] = digits[n - 1 - i];
    s[n] = '\0';
    return Add(s);
  }
  const char* c_str() const { return buf_; }
  size_t size() const { return len_; }
  bool overflow() const { return overflow_; }

 private:
  char buf_[4096];
  size_t len_ = 0;
  bool overflow_ = false;
};

// The record layout of getdents64 (glibc declares no type for it).
struct linux_dirent64_view {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

const ZygoteConfig* g_config = nullptr;
int g_signal_fd = -1;
void* g_child_stack = nullptr;
int64_t g_reported_cpu_us = 0;
char g_copy_buffer[64 * 1024];

void SendMessage(const Message& m, int fd_to_pass) {
  iovec iov{const_cast<Message*>(&m), sizeof(m)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd_to_pass >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
  }
  while (sendmsg(kSocketFd, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void FailStartup(SetupStep step, int err) {
  Message m;
  m.type = MessageType::kReady;
  m.failed_step = step;
  m.error = err;
  SendMessage(m, -1);
  _exit(1);
}

void Check(SetupStep step, long result) {
  if (result < 0) FailStartup(step, errno);
}

int WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

// Writes everything to `fd` (which may be -1 from a failed open) and closes it.
int WriteAndClose(int fd, const char* data, size_t size) {
  if (fd < 0) return -1;
  int r = WriteAll(fd, data, size);
  int err = errno;
  close(fd);
  errno = err;
  return r;
}

int WriteFile(const char* path, const char* data, size_t size, mode_t mode) {
  return WriteAndClose(open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode),
                       data, size);
}

// Writes into an existing file such as /proc/self/oom_score_adj.
int WriteExisting(const char* path, const char* data, size_t size) {
  return WriteAndClose(open(path, O_WRONLY | O_CLOEXEC), data, size);
}

// mkdir -p for every component of `path` before its last '/'.
int MakeParents(const char* path) {
  char buf[4096];
  size_t len = std::strlen(path);
  if (len >= sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(buf, path, len + 1);
  for (size_t i = 1; i < len; ++i) {
    if (buf[i] != '/') continue;
    buf[i] = '\0';
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -1;
    buf[i] = '/';
  }
  return 0;
}

int MakeDir(const char* path) { return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0; }

int BindReadOnly(const char* source, const char* target, unsigned long extra_flags) {
  if (mount(source, target, nullptr, MS_BIND, nullptr) < 0) return -1;
  return mount(nullptr, target, nullptr, MS_BIND | MS_REMOUNT | extra_flags, nullptr);
}

// Mirrors host `path` into the new root: a directory or file as a read-only bind, a
// symlink as the same symlink. A missing path is skipped.
int MirrorSystemPath(const char* path) {
  struct stat st;
  if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
  Text target;
  target.Add(kBase).Add(path);
  if (target.overflow() || MakeParents(target.c_str()) < 0) return -1;
  constexpr unsigned long kReadOnly = MS_RDONLY | MS_NOSUID | MS_NODEV;
  if (S_ISLNK(st.st_mode)) {
    char link[4096];
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n < 0) return -1;
    link[n] = '\0';
    return symlink(link, target.c_str()) < 0 && errno != EEXIST ? -1 : 0;
  }
  if (S_ISDIR(st.st_mode)) {
    if (MakeDir(target.c_str()) < 0) return -1;
    return BindReadOnly(path, target.c_str(), kReadOnly);
  }
  if (S_ISREG(st.st_mode)) {
    if (WriteFile(target.c_str(), "", 0, 0644) < 0) return -1;
    return BindReadOnly(path, target.c_str(), kReadOnly);
  }
  return 0;
}

int MakeDevNodes() {
  Text dev;
  dev.Add(kBase).Add("/dev");
  if (MakeDir(dev.c_str()) < 0) return -1;
  for (const char* node : {"null", "zero", "full", "random", "urandom"}) {
    Text host, target;
    host.Add("/dev/").Add(node);
    target.Add(kBase).Add("/dev/").Add(node);
    if (WriteFile(target.c_str(), "", 0, 0666) < 0) return -1;
    // Writable (a read-only mount refuses writes to /dev/null) but nosuid and noexec.
    if (BindReadOnly(host.c_str(), target.c_str(), MS_NOSUID | MS_NOEXEC) < 0) return -1;
  }
  const char* links[][2] = {{"fd", "/proc/self/fd"},
                            {"stdin", "/proc/self/fd/0"},
                            {"stdout", "/proc/self/fd/1"},
                            {"stderr", "/proc/self/fd/2"}};
  for (const auto& [name, to] : links) {
    Text link;
    link.Add(kBase).Add("/dev/").Add(name);
    if (symlink(to, link.c_str()) < 0) return -1;
  }
  Text shm;
  shm.Add(kBase).Add("/dev/shm");
  return MakeDir(shm.c_str());
}

int MakeEtc(const ZygoteConfig& c) {
  Text etc;
  etc.Add(kBase).Add("/etc");
  if (MakeDir(etc.c_str()) < 0) return -1;
  const std::pair<const char*, const std::string*> files[] = {
      {"/passwd", &c.etc_passwd}, {"/group", &c.etc_group}, {"/hosts", &c.etc_hosts}};
  for (const auto& [name, text] : files) {
    Text path;
    path.Add(kBase).Add("/etc").Add(name);
    if (WriteFile(path.c_str(), text->data(), text->size(), 0644) < 0) return -1;
  }
  return 0;
}

int MountTmpfs(const char* target, int64_t bytes) {
  Text options;
  options.Add("size=").Add(static_cast<uint64_t>(bytes)).Add(",nr_inodes=");
  options.Add(static_cast<uint64_t>(g_config->max_inodes)).Add(",mode=1777");
  return mount("tmpfs", target, "tmpfs", kScratchFlags, options.c_str());
}

// The per-run tmpfs mounts and the free space each had when it was fresh. Their roots are
// root-owned and sticky (mode 1777): a run can create entries but not change the root
// directory itself, so a mount that is empty again is as good as fresh.
struct Scratch {
  const char* path;
  int64_t ZygoteConfig::*bytes;
  struct statfs fresh;
};
Scratch g_scratch[] = {{"/box", &ZygoteConfig::box_bytes, {}},
                       {"/tmp", &ZygoteConfig::tmp_bytes, {}},
                       {"/dev/shm", &ZygoteConfig::shm_bytes, {}}};

int MountScratch(Scratch& s) {
  if (MountTmpfs(s.path, g_config->*s.bytes) < 0) return -1;
  return statfs(s.path, &s.fresh);
}

int MountAllScratch() {
  for (Scratch& s : g_scratch) {
    if (MountScratch(s) < 0) return -1;
  }
  return 0;
}

// Removes everything below the directory `dir` without following links, visiting at most
// `*budget` entries and `depth` levels; -1 when a bound is hit or a removal fails.
int Wipe(int dir, int depth, int* budget) {
  alignas(8) char buf[4096];
  for (;;) {
    if (lseek(dir, 0, SEEK_SET) < 0) return -1;
    long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));
    if (n < 0) return -1;
    bool removed = false;
    for (long off = 0; off < n;) {
      auto* e = reinterpret_cast<struct linux_dirent64_view*>(buf + off);
      off += e->reclen;
      const char* name = e->name;
      if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
      if (--*budget < 0) return -1;
      if (e->type == DT_DIR) {
        if (depth <= 0) return -1;
        int sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) return -1;
        int r = Wipe(sub, depth - 1, budget);
        close(sub);
        if (r < 0 || unlinkat(dir, name, AT_REMOVEDIR) < 0) return -1;
      } else if (unlinkat(dir, name, 0) < 0) {
        return -1;
      }
      removed = true;
    }
    if (!removed) return 0;
  }
}

bool Pristine(const Scratch& s) {
  struct statfs now;
  return statfs(s.path, &now) == 0 && now.f_ffree == s.fresh.f_ffree &&
         now.f_bfree == s.fresh.f_bfree;
}

// Makes every scratch mount fresh again: an untouched one stays, a lightly used one is
// emptied (cheaper than a new mount), anything else is replaced by a new tmpfs.
void RefreshScratch() {
  constexpr int kWipeEntries = 256;
  constexpr int kWipeDepth = 8;
  for (Scratch& s : g_scratch) {
    if (Pristine(s)) continue;
    int dir = open(s.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int budget = kWipeEntries;
    bool wiped = dir >= 0 && Wipe(dir, kWipeDepth, &budget) == 0 && Pristine(s);
    if (dir >= 0) close(dir);
    if (wiped) continue;
    if (umount2(s.path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 || MountScratch(s) < 0) _exit(1);
  }
}

int BringUpLoopback() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  int r = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (r == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    r = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int err = errno;
  close(s);
  errno = err;
  return r;
}

void BuildBox(const ZygoteConfig& c) {
  Check(SetupStep::kPrivateMounts, mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr));
  Check(SetupStep::kRootTmpfs,
        mount("tmpfs", kBase, "tmpfs", MS_NOSUID | MS_NODEV, "size=1048576,mode=0755"));
  for (const std::string& path : c.system_paths) {
    Check(SetupStep::kBindSystemPath, MirrorSystemPath(path.c_str()));
  }
  Check(SetupStep::kDevNodes, MakeDevNodes());
  Check(SetupStep::kEtcFiles, MakeEtc(c));
  for (const char* dir : {"/proc", "/tmp", "/box", "/.oldroot"}) {
    Text path;
    path.Add(kBase).Add(dir);
    Check(SetupStep::kPivotRoot, MakeDir(path.c_str()));
  }
  Text old_root;
  old_root.Add(kBase).Add("/.oldroot");
  Check(SetupStep::kPivotRoot, syscall(SYS_pivot_root, kBase, old_root.c_str()));
  Check(SetupStep::kPivotRoot, chdir("/"));
  Check(SetupStep::kPivotRoot, umount2("/.oldroot", MNT_DETACH));
  Check(SetupStep::kPivotRoot, rmdir("/.oldroot"));
  constexpr unsigned long kProcFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (mount("proc", "/proc", "proc", kProcFlags, "hidepid=invisible") < 0) {
    Check(SetupStep::kProc, mount("proc", "/proc", "proc", kProcFlags, "hidepid=2"));
  }
  Check(SetupStep::kReadOnlyRoot,
        mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr));
  Check(SetupStep::kScratchMounts, MountAllScratch());
  Check(SetupStep::kHostname, sethostname("sandbox", 7));
  Check(SetupStep::kLoopback, BringUpLoopback());
  // The bounding set only limits what execve can grant, and the zygote never execs: empty
  // it once here, for every child to inherit (each drop costs a credentials commit).
  for (int cap = 0; cap <= c.cap_last_cap; ++cap) {
    Check(SetupStep::kBoundingSet, prctl(PR_CAPBSET_DROP, cap, 0, 0, 0));
  }
}

// Keeps only the socket and the cgroup.procs descriptors, renumbered from 3; 0-2 become
// /dev/null. Returns the first cgroup.procs descriptor.
int ShuffleDescriptors(const ZygoteConfig& c) {
  int wanted[16];
  int count = 0;
  wanted[count++] = c.socket_fd;
  for (int fd : c.cgroup_procs_fds) {
    if (count < 16) wanted[count++] = fd;
  }
  for (int i = 0; i < count; ++i) wanted[i] = fcntl(wanted[i], F_DUPFD_CLOEXEC, 64);
  for (int i = 0; i < count; ++i) {
    if (wanted[i] < 0 || dup3(wanted[i], kSocketFd + i, O_CLOEXEC) < 0) _exit(1);
  }
  int null = open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) {
    if (null != fd) dup2(null, fd);
  }
  syscall(SYS_close_range, kSocketFd + count, ~0U, 0);
  return kSocketFd + 1;
}

void SetUpProcess(const ZygoteConfig& c) {
  int first_procs = ShuffleDescriptors(c);
  for (size_t i = 0; i < c.cgroup_procs_fds.size(); ++i) {
    int fd = first_procs + static_cast<int>(i);
    Check(SetupStep::kCgroupJoin, write(fd, "0", 1));
    close(fd);
  }
  Check(SetupStep::kCgroupNamespace, unshare(CLONE_NEWCGROUP));
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  Check(SetupStep::kSignals, sigprocmask(SIG_SETMASK, &chld, nullptr));
  g_signal_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  Check(SetupStep::kSignals, g_signal_fd);
  void* stack = mmap(nullptr, kChildStackBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) FailStartup(SetupStep::kSpawn, errno);
  g_child_stack = stack;
}

// ---- One run ----

struct Request {
  const RequestHeader* header = nullptr;
  char** argv = nullptr;
  char** envp = nullptr;
  const char* const* collect = nullptr;
  size_t mapped_bytes = 0;
  void* mapped = nullptr;
  void* pointers = nullptr;
  size_t pointer_bytes = 0;
};

// Reads length-prefixed strings from the mapped request.
class Cursor {
 public:
  Cursor(const char* data, size_t size) : p_(data), end_(data + size) {}
  bool U32(uint32_t* v) { return Raw(v, sizeof(*v)); }
  bool U64(uint64_t* v) { return Raw(v, sizeof(*v)); }
  // A NUL-terminated string of `len` bytes including the NUL.
  const char* String() {
    uint32_t len;
    if (!U32(&len) || len == 0 || static_cast<size_t>(end_ - p_) < len || p_[len - 1] != '\0') {
      return nullptr;
    }
    const char* s = p_;
    p_ += len;
    return s;
  }
  const char* Bytes(uint64_t n) {
    if (static_cast<uint64_t>(end_ - p_) < n) return nullptr;
    const char* s = p_;
    p_ += n;
    return s;
  }

 private:
  bool Raw(void* v, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    std::memcpy(v, p_, n);
    p_ += n;
    return true;
  }
  const char* p_;
  const char* end_;
};

void ReleaseRequest(Request* r) {
  if (r->mapped != nullptr) munmap(r->mapped, r->mapped_bytes);
  if (r->pointers != nullptr) munmap(r->pointers, r->pointer_bytes);
  *r = Request();
}

bool PlainName(const char* name) {
  if (name[0] == '\0' || std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) {
    return false;
  }
  return std::strchr(name, '/') == nullptr;
}

// Maps the request, writes its files into /box and fills argv/envp/collect.
SetupStep LoadRequest(int memfd, Request* r, int* err) {
  struct stat st;
  if (fstat(memfd, &st) < 0 || st.st_size < static_cast<off_t>(sizeof(RequestHeader))) {
    *err = EINVAL;
    return SetupStep::kRequest;
  }
  r->mapped_bytes = static_cast<size_t>(st.st_size);
  r->mapped = mmap(nullptr, r->mapped_bytes, PROT_READ, MAP_PRIVATE, memfd, 0);
  if (r->mapped == MAP_FAILED) {
    r->mapped = nullptr;
    *err = errno;
    return SetupStep::kRequest;
  }
  const char* data = static_cast<const char*>(r->mapped);
  r->header = reinterpret_cast<const RequestHeader*>(data);
  const RequestHeader& h = *r->header;
  if (h.magic != box::kMagic || h.argc == 0 || h.argc > 4096 || h.envc > 4096 ||
      h.collect_count > 4096) {
    *err = EINVAL;
    return SetupStep::kRequest;
  }
  r->pointer_bytes = (h.argc + h.envc + h.collect_count + 3) * sizeof(char*);
  r->pointers =
      mmap(nullptr, r->pointer_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r->pointers == MAP_FAILED) {
    r->pointers = nullptr;
    *err = errno;
    return SetupStep::kRequest;
  }
  char** slots = static_cast<char**>(r->pointers);
  r->argv = slots;
  r->envp = slots + h.argc + 1;
  char** collect = r->envp + h.envc + 1;
  r->collect = collect;
  Cursor in(data + sizeof(RequestHeader), r->mapped_bytes - sizeof(RequestHeader));
  for (uint32_t i = 0; i < h.argc + h.envc; ++i) {
    const char* s = in.String();
    if (s == nullptr) {
      *err = EINVAL;
      return SetupStep::kRequest;
    }
    (i < h.argc ? r->argv[i] : r->envp[i - h.argc]) = const_cast<char*>(s);
  }
  int box_dir = open("/box", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (box_dir < 0) {
    *err = errno;
    return SetupStep::kWriteFile;
  }
  for (uint32_t i = 0; i < h.file_count; ++i) {
    const char* name = in.String();
    uint32_t mode;
    uint64_t size;
    const char* bytes = nullptr;
    if (name == nullptr || !PlainName(name) || !in.U32(&mode) || !in.U64(&size) ||
        (bytes = in.Bytes(size)) == nullptr) {
      close(box_dir);
      *err = EINVAL;
      return SetupStep::kRequest;
    }
    int fd =
        openat(box_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0755);
    if (fd < 0 || WriteAll(fd, bytes, size) < 0 || fchown(fd, g_config->uid, g_config->gid) < 0) {
      *err = errno;
      if (fd >= 0) close(fd);
      close(box_dir);
      return SetupStep::kWriteFile;
    }
    close(fd);
  }
  close(box_dir);
  for (uint32_t i = 0; i < h.collect_count; ++i) {
    const char* name = in.String();
    if (name == nullptr || !PlainName(name)) {
      *err = EINVAL;
      return SetupStep::kRequest;
    }
    collect[i] = const_cast<char*>(name);
  }
  return SetupStep::kNone;
}

struct ChildArgs {
  const Request* request;
  int stdio[3];
  SetupStep failed_step;
  int error;
};

[[noreturn]] void ChildFail(ChildArgs* a, SetupStep step, int err) {
  a->failed_step = step;
  a->error = err;
  _exit(127);
}

void ChildCheck(ChildArgs* a, SetupStep step, long result) {
  if (result < 0) ChildFail(a, step, errno);
}

void SetLimit(ChildArgs* a, int resource, uint64_t soft, uint64_t hard) {
  rlimit64 lim{soft, hard};
  ChildCheck(a, SetupStep::kRlimit, syscall(SYS_prlimit64, 0, resource, &lim, nullptr));
}

// Runs in the CLONE_VM | CLONE_VFORK child: only raw system calls (no glibc setxid
// broadcast), and it reports failures through `a`, which the zygote reads afterwards.
int ChildMain(void* arg) {
  auto* a = static_cast<ChildArgs*>(arg);
  const ZygoteConfig& c = *g_config;
  const RequestHeader& h = *a->request->header;
  // The OOM killer's first choice in the slot cgroup, ahead of the zygote. Raising needs
  // no privilege (lowering the zygote's instead is refused in some containers).
  ChildCheck(a, SetupStep::kOomScore, WriteExisting("/proc/self/oom_score_adj", "1000", 4));
  ChildCheck(a, SetupStep::kSession, setsid());
  for (int fd = 0; fd < 3; ++fd) ChildCheck(a, SetupStep::kStdio, dup2(a->stdio[fd], fd));
  ChildCheck(a, SetupStep::kStdio, syscall(SYS_close_range, 3, ~0U, 0));
  ChildCheck(a, SetupStep::kWorkDir, chdir("/box"));
  if (h.cpu_seconds > 0) SetLimit(a, RLIMIT_CPU, h.cpu_seconds, h.cpu_seconds + 1);
  if (h.file_size_bytes > 0) SetLimit(a, RLIMIT_FSIZE, h.file_size_bytes, h.file_size_bytes);
  if (h.open_files > 0) SetLimit(a, RLIMIT_NOFILE, h.open_files, h.open_files);
  if (h.processes > 0) SetLimit(a, RLIMIT_NPROC, h.processes, h.processes);
  if (h.stack_bytes > 0) SetLimit(a, RLIMIT_STACK, h.stack_bytes, h.stack_bytes);
  if (h.address_space_bytes > 0) {
    SetLimit(a, RLIMIT_AS, h.address_space_bytes, h.address_space_bytes);
  }
  SetLimit(a, RLIMIT_CORE, 0, 0);
  SetLimit(a, RLIMIT_MEMLOCK, 0, 0);
  SetLimit(a, RLIMIT_MSGQUEUE, 0, 0);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  ChildCheck(a, SetupStep::kGroups, syscall(SYS_setgroups, 0, nullptr));
  ChildCheck(a, SetupStep::kGid, syscall(SYS_setresgid, c.gid, c.gid, c.gid));
  ChildCheck(a, SetupStep::kUid, syscall(SYS_setresuid, c.uid, c.uid, c.uid));
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  ChildCheck(a, SetupStep::kCapabilities, syscall(SYS_capset, &header, data));
  ChildCheck(a, SetupStep::kNoNewPrivs, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
  sigset_t none;
  sigemptyset(&none);
  ChildCheck(a, SetupStep::kSignals, sigprocmask(SIG_SETMASK, &none, nullptr));
  int seccomp = InstallSeccompFilter(*c.seccomp);
  if (seccomp < 0) ChildFail(a, SetupStep::kSeccomp, -seccomp);
  execve(a->request->argv[0], a->request->argv, a->request->envp);
  ChildFail(a, SetupStep::kExec, errno);
}

void DrainSignals() {
  signalfd_siginfo info;
  while (read(g_signal_fd, &info, sizeof(info)) > 0) {
  }
}

// Kills every process of the namespace but this one and reaps them all.
void KillAll() {
  kill(-1, SIGKILL);
  while (waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
  }
  DrainSignals();
}

// Waits for `main` while reaping orphans; honours kKill and supervisor loss.
int WaitForMain(pid_t main) {
  pollfd fds[2] = {{kSocketFd, POLLIN, 0}, {g_signal_fd, POLLIN, 0}};
  for (;;) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == main) return status;
    }
    if (poll(fds, 2, -1) < 0 && errno != EINTR) _exit(1);
    if (fds[1].revents != 0) DrainSignals();
    if (fds[0].revents != 0) {
      Message m;
      ssize_t n = recv(kSocketFd, &m, sizeof(m), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        KillAll();  // The supervisor is gone.
        _exit(0);
      }
      if (n == sizeof(m) && m.type == MessageType::kKill) kill(-1, SIGKILL);
    }
  }
}

// The slot's IPC namespace is reused while runs leave it empty; a run that leaves SysV
// objects behind gets the zygote (and so the next run) a fresh one. POSIX message queues
// cannot be created at all (RLIMIT_MSGQUEUE is 0); POSIX shm lives in /dev/shm.
void ResetIpcIfUsed() {
  shm_info shm{};
  msginfo msg{};
  seminfo sem{};
  bool used = shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&shm)) < 0 || shm.used_ids != 0 ||
              msgctl(0, MSG_INFO, reinterpret_cast<msqid_ds*>(&msg)) < 0 || msg.msgpool != 0 ||
              semctl(0, 0, SEM_INFO, &sem) < 0 || sem.semusz != 0;
  if (used && unshare(CLONE_NEWIPC) < 0) _exit(1);
}

int64_t ChildrenCpuMicros() {
  rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

int OpenBeneath(int dir, const char* name) {
  open_how how{};
  how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  int fd = static_cast<int>(syscall(SYS_openat2, dir, name, &how, sizeof(how)));
  if (fd < 0 && errno == ENOSYS)
    fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  return fd;
}

// Appends one collected file to `out`: status, size, bytes.
int CollectOne(int out, int dir, const char* name, uint64_t max_bytes) {
  int32_t status = 0;
  uint64_t size = 0;
  int fd = OpenBeneath(dir, name);
  struct stat st;
  if (fd < 0) {
    status = errno;
  } else if (fstat(fd, &st) < 0) {
    status = errno;
  } else if (!S_ISREG(st.st_mode)) {
    status = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
  } else if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    status = EFBIG;
  } else {
    size = static_cast<uint64_t>(st.st_size);
  }
  if (WriteAll(out, reinterpret_cast<const char*>(&status), sizeof(status)) < 0 ||
      WriteAll(out, reinterpret_cast<const char*>(&size), sizeof(size)) < 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  uint64_t left = size;
  while (left > 0) {
    size_t want = left < sizeof(g_copy_buffer) ? static_cast<size_t>(left) : sizeof(g_copy_buffer);
    ssize_t n = read(fd, g_copy_buffer, want);
    if (n <= 0) {  // Shorter than fstat said: pad, so the record keeps its declared size.
      std::memset(g_copy_buffer, 0, want);
      n = static_cast<ssize_t>(want);
    }
    if (WriteAll(out, g_copy_buffer, static_cast<size_t>(n)) < 0) {
      close(fd);
      return -1;
    }
    left -= static_cast<uint64_t>(n);
  }
  if (fd >= 0) close(fd);
  return 0;
}

int Collect(const Request& r) {
  int out = static_cast<int>(syscall(SYS_memfd_create, "lightrl-collected", MFD_CLOEXEC));
  int dir = open("/box", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (out < 0 || dir < 0) {
    if (out >= 0) close(out);
    return -1;
  }
  for (uint32_t i = 0; i < r.header->collect_count; ++i) {
    if (CollectOne(out, dir, r.collect[i], r.header->collect_max_bytes) < 0) {
      close(out);
      close(dir);
      return -1;
    }
  }
  close(dir);
  return out;
}

// fds: request memfd, stdout, stderr and optionally stdin.
void HandleRun(const int fds[4], int nfds) {
  Message reply;
  reply.type = MessageType::kResult;
  Request request;
  int err = 0;
  SetupStep step = LoadRequest(fds[0], &request, &err);
  close(fds[0]);
  int collected = -1;
  if (step == SetupStep::kNone) {
    // Without a stdin descriptor the program reads the zygote's /dev/null.
    ChildArgs args{&request, {nfds > 3 ? fds[3] : 0, fds[1], fds[2]}, SetupStep::kNone, 0};
    char* stack_top = static_cast<char*>(g_child_stack) + kChildStackBytes;
    pid_t child = clone(ChildMain, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    if (child < 0) {
      step = SetupStep::kSpawn;
      err = errno;
    } else if (args.failed_step != SetupStep::kNone) {
      step = args.failed_step;
      err = args.error;
    } else {
      reply.wait_status = WaitForMain(child);
    }
  }
  for (int i = 1; i < nfds; ++i) close(fds[i]);
  KillAll();
  ResetIpcIfUsed();
  int64_t cpu = ChildrenCpuMicros();
  reply.cpu_us = cpu - g_reported_cpu_us;
  g_reported_cpu_us = cpu;
  if (step == SetupStep::kNone && request.header->collect_count > 0) {
    collected = Collect(request);
    if (collected < 0) {
      step = SetupStep::kCollect;
      err = errno;
    }
  }
  reply.failed_step = step;
  reply.error = err;
  reply.collected = collected >= 0 ? 1 : 0;
  ReleaseRequest(&request);
  SendMessage(reply, collected);
  if (collected >= 0) close(collected);
  RefreshScratch();
}

// Receives one message and up to 4 descriptors; returns recvmsg's result.
ssize_t Receive(Message* m, int fds[4], int* nfds) {
  iovec iov{m, sizeof(*m)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = recvmsg(kSocketFd, &msg, MSG_CMSG_CLOEXEC);
  *nfds = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int count = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (*nfds < 4) {
        fds[(*nfds)++] = fd;
      } else {
        close(fd);
      }
    }
  }
  return n;
}

}  // namespace

void ZygoteMain(const ZygoteConfig& config) {
  g_config = &config;
  SetUpProcess(config);
  BuildBox(config);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  Message ready;
  ready.type = MessageType::kReady;
  SendMessage(ready, -1);
  for (;;) {
    Message m;
    int fds[4];
    int nfds = 0;
    ssize_t n = Receive(&m, fds, &nfds);
    if (n == 0) _exit(0);
    if (n < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (n == sizeof(m) && m.magic == box::kMagic && m.type == MessageType::kRun && nfds >= 3) {
      HandleRun(fds, nfds);
      continue;
    }
    for (int i = 0; i < nfds; ++i) close(fds[i]);
    if (m.type != MessageType::kKill) {  // A stray kill after a run ended is harmless.
      Message reply;
      reply.type = MessageType::kResult;
      reply.failed_step = SetupStep::kRequest;
      reply.error = EPROTO;
      SendMessage(reply, -1);
    }
  }
}

}  // namespace lightrl
