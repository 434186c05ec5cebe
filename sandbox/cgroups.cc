#include "sandbox/cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/logging.h"

namespace lightrl {
namespace {

constexpr int64_t kCpuPeriodUs = 100000;
constexpr char kLeaf[] = "lightrl-leaf";

struct MountEntry {
  std::string root;
  std::string mount_point;
  std::string fstype;
  std::string super_options;
};

std::string Unescape(const std::string& s) {  // mountinfo escapes space as \040 etc.
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<MountEntry> ReadMountInfo() {
  std::vector<MountEntry> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point, field;
    fields >> id >> parent >> dev >> root >> mount_point;
    while (fields >> field && field != "-") {
    }
    MountEntry entry{Unescape(root), Unescape(mount_point), "", ""};
    std::string source;
    fields >> entry.fstype >> source >> entry.super_options;
    mounts.push_back(std::move(entry));
  }
  return mounts;
}

bool HasToken(const std::string& list, const std::string& token) {
  std::istringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item == token) return true;
  }
  return false;
}

// The caller's path in the v1 hierarchy holding `controller`, or in the v2 hierarchy
// when `controller` is empty.
std::optional<std::string> OwnCgroupPath(const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    size_t first = line.find(':');
    size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    bool match = controller.empty() ? line.substr(0, first) == "0" && controllers.empty()
                                    : HasToken(controllers, controller);
    if (match) return line.substr(second + 1);
  }
  return std::nullopt;
}

// Where `path` (relative to the hierarchy root) lies on disk below `mount`.
std::optional<std::string> OnDisk(const MountEntry& mount, const std::string& path) {
  if (mount.root == "/") return mount.mount_point + (path == "/" ? "" : path);
  if (path.compare(0, mount.root.size(), mount.root) != 0) return std::nullopt;
  return mount.mount_point + path.substr(mount.root.size());
}

Status WriteText(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return InternalError("cannot open " + path + ": " + std::strerror(errno));
  ssize_t n = write(fd, text.data(), text.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return InternalError("cannot write '" + text + "' to " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string PreadAll(int fd) {
  char buf[4096];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// The number after "key " on its own line of `text`, or -1.
int64_t KeyedValue(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  int64_t v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return -1;
}

int64_t FirstNumber(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return -1;
  return std::stoll(text);
}

int OpenOrMinusOne(const std::string& path, int flags) {
  return open(path.c_str(), flags | O_CLOEXEC);
}

bool MakeDir(const std::string& path, std::string* why) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return true;
  *why = "cannot create " + path + ": " + std::strerror(errno);
  return false;
}

// Best-effort removal of the cgroups left below `parent` by sandboxes whose process is gone.
void RemoveStale(const std::string& parent) {
  const std::string prefix = "lightrl-sandbox-";
  DIR* d = opendir(parent.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(prefix, 0) != 0) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + prefix.size()));
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::string instance = parent + "/" + name;
    if (DIR* slots = opendir(instance.c_str())) {
      while (dirent* s = readdir(slots)) {
        if (std::string(s->d_name).rfind("slot-", 0) == 0) {
          rmdir((instance + "/" + s->d_name).c_str());
        }
      }
      closedir(slots);
    }
    rmdir(instance.c_str());
  }
  closedir(d);
}

std::string InstanceName() {
  static std::atomic<int> counter{0};
  return "lightrl-sandbox-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

std::unique_ptr<Cgroups> Cgroups::Create() {
  std::unique_ptr<Cgroups> cg(new Cgroups());
  std::string v2_reason = "no cgroup2 mount";
  for (const MountEntry& m : ReadMountInfo()) {
    if (m.fstype != "cgroup2") continue;
    std::optional<std::string> path = OwnCgroupPath("");
    std::optional<std::string> dir = path ? OnDisk(m, *path) : std::nullopt;
    if (!dir) {
      v2_reason = "own cgroup not below the cgroup2 mount " + m.mount_point;
      continue;
    }
    std::string controllers = ReadText(*dir + "/cgroup.controllers");
    bool all = true;
    for (const char* c : {"memory", "pids", "cpu"}) {
      std::istringstream in(controllers);
      std::string word;
      bool found = false;
      while (in >> word) found |= word == c;
      all &= found;
    }
    if (!all) {
      v2_reason = "cgroup2 at " + m.mount_point + " offers only '" +
                  controllers.substr(0, controllers.find('\n')) + "'";
      continue;
    }
    cg->SetUpV2(*dir);
    if (cg->v2_) return cg;
    v2_reason = cg->report_.empty() ? v2_reason : cg->report_.back();
    cg->report_.clear();
  }
  cg->report_.push_back("cgroup v2 not used: " + v2_reason);
  cg->SetUpV1();
  return cg;
}

void Cgroups::SetUpV2(const std::string& own) {
  std::string base = own;
  if (base.size() > sizeof(kLeaf) && base.substr(base.size() - sizeof(kLeaf) + 1) == kLeaf) {
    base = base.substr(0, base.size() - sizeof(kLeaf));  // Moved here by an earlier sandbox.
  }
  RemoveStale(base);
  const std::string enable = "+memory +pids +cpu";
  Status enabled = WriteText(base + "/cgroup.subtree_control", enable);
  for (int attempt = 0; !enabled.ok() && attempt < 3; ++attempt) {
    std::string leaf = base + "/" + kLeaf, why;
    if (!MakeDir(leaf, &why)) {
      report_.push_back("cgroup v2 not used: " + why);
      return;
    }
    std::istringstream procs(ReadText(base + "/cgroup.procs"));
    std::string pid;
    while (procs >> pid) WriteText(leaf + "/cgroup.procs", pid).IgnoreError();
    enabled = WriteText(base + "/cgroup.subtree_control", enable);
    if (enabled.ok()) {
      report_.push_back("cgroup v2: moved the processes of " + base + " into " + leaf);
    }
  }
  if (!enabled.ok()) {
    report_.push_back("cgroup v2 not used: " + std::string(enabled.message()));
    return;
  }
  std::string instance = base + "/" + InstanceName(), why;
  if (!MakeDir(instance, &why)) {
    report_.push_back("cgroup v2 not used: " + why);
    return;
  }
  created_.push_back(instance);
  Status sub = WriteText(instance + "/cgroup.subtree_control", enable);
  if (!sub.ok()) {
    report_.push_back("cgroup v2 not used: " + std::string(sub.message()));
    return;
  }
  v2_ = true;
  memory_dir_ = pids_dir_ = cpu_dir_ = cpuacct_dir_ = instance;
  for (const char* c : {"memory", "pids", "cpu"}) {
    report_.push_back(std::string("cgroup ") + c + ": v2 " + instance);
  }
}

void Cgroups::SetUpV1() {
  std::vector<MountEntry> mounts = ReadMountInfo();
  std::string instance_name = InstanceName();
  std::pair<const char*, std::string*> wanted[] = {{"memory", &memory_dir_},
                                                   {"pids", &pids_dir_},
                                                   {"cpu", &cpu_dir_},
                                                   {"cpuacct", &cpuacct_dir_}};
  for (auto& [controller, dir] : wanted) {
    std::string why = "no cgroup v1 hierarchy with this controller";
    for (const MountEntry& m : mounts) {
      if (m.fstype != "cgroup" || !HasToken(m.super_options, controller)) continue;
      std::optional<std::string> path = OwnCgroupPath(controller);
      std::optional<std::string> own = path ? OnDisk(m, *path) : std::nullopt;
      if (!own) {
        why = "own cgroup not below " + m.mount_point;
        continue;
      }
      RemoveStale(*own);
      std::string instance = *own + "/" + instance_name;
      if (!MakeDir(instance, &why)) continue;
      if (std::find(created_.begin(), created_.end(), instance) == created_.end()) {
        created_.push_back(instance);
      }
      *dir = instance;
      break;
    }
    report_.push_back(std::string("cgroup ") + controller + ": " +
                      (dir->empty() ? "missing (" + why + ")" : "v1 " + *dir));
  }
}

Cgroups::~Cgroups() {
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    if (rmdir(it->c_str()) != 0) {
      LOG(WARNING) << "sandbox: cannot remove cgroup " << *it << ": " << std::strerror(errno);
    }
  }
}

StatusOr<std::unique_ptr<SlotCgroup>> Cgroups::MakeSlot(int index) const {
  std::unique_ptr<SlotCgroup> slot(new SlotCgroup());
  slot->v2_ = v2_;
  std::string name = "/slot-" + std::to_string(index);
  for (const std::string* instance : {&memory_dir_, &pids_dir_, &cpu_dir_, &cpuacct_dir_}) {
    if (instance->empty()) continue;
    std::string dir = *instance + name, why;
    if (std::find(slot->dirs_.begin(), slot->dirs_.end(), dir) != slot->dirs_.end()) continue;
    if (!MakeDir(dir, &why)) return InternalError("sandbox: " + why);
    slot->dirs_.push_back(dir);
    int fd = OpenOrMinusOne(dir + "/cgroup.procs", O_WRONLY);
    if (fd < 0) {
      return InternalError("sandbox: cannot open " + dir +
                           "/cgroup.procs: " + std::strerror(errno));
    }
    slot->procs_fds_.push_back(fd);
  }
  if (!memory_dir_.empty()) slot->memory_dir_ = memory_dir_ + name;
  if (!pids_dir_.empty()) slot->pids_dir_ = pids_dir_ + name;
  if (!cpu_dir_.empty()) slot->cpu_dir_ = cpu_dir_ + name;
  if (!cpuacct_dir_.empty()) {
    slot->cpu_usage_fd_ =
        OpenOrMinusOne(cpuacct_dir_ + name + (v2_ ? "/cpu.stat" : "/cpuacct.usage"), O_RDONLY);
  }
  if (!slot->pids_dir_.empty()) {
    slot->pids_events_fd_ = OpenOrMinusOne(slot->pids_dir_ + "/pids.events", O_RDONLY);
  }
  if (!slot->memory_dir_.empty()) {
    std::string peak = slot->memory_dir_ + (v2_ ? "/memory.peak" : "/memory.max_usage_in_bytes");
    slot->memory_peak_fd_ = OpenOrMinusOne(peak, O_RDWR);
    slot->oom_events_fd_ = OpenOrMinusOne(
        slot->memory_dir_ + (v2_ ? "/memory.events" : "/memory.oom_control"), O_RDONLY);
    if (v2_) WriteText(slot->memory_dir_ + "/memory.swap.max", "0").IgnoreError();
  }
  return slot;
}

SlotCgroup::~SlotCgroup() {
  for (int fd : procs_fds_) close(fd);
  for (int fd : {cpu_usage_fd_, memory_peak_fd_, oom_events_fd_, pids_events_fd_}) {
    if (fd >= 0) close(fd);
  }
  for (const std::string& dir : dirs_) {
    // A reaped process leaves its cgroup asynchronously: retry EBUSY for up to a second.
    for (int attempt = 0; rmdir(dir.c_str()) != 0 && errno == EBUSY && attempt < 1000; ++attempt) {
      usleep(1000);
    }
  }
}

Status SlotCgroup::Apply(const CgroupLimits& limits) {
  if (!memory_dir_.empty() && limits.memory_bytes != applied_.memory_bytes) {
    std::string bytes = std::to_string(limits.memory_bytes);
    if (v2_) {
      RETURN_IF_ERROR(WriteText(memory_dir_ + "/memory.max", bytes));
    } else {
      // memsw (memory + swap) must stay >= the memory limit while both change.
      std::string memsw = memory_dir_ + "/memory.memsw.limit_in_bytes";
      bool has_memsw = access(memsw.c_str(), F_OK) == 0;
      // Nothing applied yet means the kernel limit is unlimited: lower it first.
      bool raising = applied_.memory_bytes != 0 && limits.memory_bytes > applied_.memory_bytes;
      if (has_memsw && raising) RETURN_IF_ERROR(WriteText(memsw, bytes));
      RETURN_IF_ERROR(WriteText(memory_dir_ + "/memory.limit_in_bytes", bytes));
      if (has_memsw && !raising) RETURN_IF_ERROR(WriteText(memsw, bytes));
    }
  }
  if (!pids_dir_.empty() && limits.pids != applied_.pids) {
    RETURN_IF_ERROR(WriteText(pids_dir_ + "/pids.max", std::to_string(limits.pids)));
  }
  if (!cpu_dir_.empty() && limits.cpu_cores != applied_.cpu_cores) {
    int64_t quota = std::llround(limits.cpu_cores * kCpuPeriodUs);
    if (v2_) {
      RETURN_IF_ERROR(WriteText(cpu_dir_ + "/cpu.max",
                                std::to_string(quota) + " " + std::to_string(kCpuPeriodUs)));
    } else {
      RETURN_IF_ERROR(WriteText(cpu_dir_ + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUs)));
      RETURN_IF_ERROR(WriteText(cpu_dir_ + "/cpu.cfs_quota_us", std::to_string(quota)));
    }
  }
  applied_ = limits;
  return Status::Ok();
}

int64_t SlotCgroup::Counter(int fd, const char* key) {
  return fd < 0 ? -1 : KeyedValue(PreadAll(fd), key);
}

int64_t SlotCgroup::CpuNanos() const {
  if (cpu_usage_fd_ < 0) return -1;
  std::string text = PreadAll(cpu_usage_fd_);
  if (!v2_) return FirstNumber(text);
  int64_t usec = KeyedValue(text, "usage_usec");
  return usec < 0 ? -1 : usec * 1000;
}

Status SlotCgroup::StartRun() {
  if (memory_peak_fd_ >= 0) {
    const char* reset = v2_ ? "reset\n" : "0";
    peak_resettable_ = pwrite(memory_peak_fd_, reset, std::strlen(reset), 0) > 0;
  }
  start_ = CgroupUsage();
  start_.cpu_ns = CpuNanos();
  start_.oom_kills = Counter(oom_events_fd_, "oom_kill");
  start_.pids_limit_hits = Counter(pids_events_fd_, "max");
  return Status::Ok();
}

CgroupUsage SlotCgroup::Usage() const {
  CgroupUsage now;
  auto delta = [](int64_t end, int64_t begin) { return end < 0 || begin < 0 ? -1 : end - begin; };
  now.cpu_ns = delta(CpuNanos(), start_.cpu_ns);
  if (peak_resettable_) now.peak_memory_bytes = FirstNumber(PreadAll(memory_peak_fd_));
  now.oom_kills = delta(Counter(oom_events_fd_, "oom_kill"), start_.oom_kills);
  now.pids_limit_hits = delta(Counter(pids_events_fd_, "max"), start_.pids_limit_hits);
  return now;
}

}  // namespace lightrl
