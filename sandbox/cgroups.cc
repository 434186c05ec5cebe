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
#include <map>
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
  std::string name = InstanceName();
  std::string v2_note;
  std::string v2_reason = cg->SetUpV2(name, &v2_note);
  std::map<std::string, std::string> v1_reasons = cg->SetUpV1(name);
  const std::pair<const char*, const CgroupDir*> all[] = {{"memory", &cg->memory_},
                                                          {"pids", &cg->pids_},
                                                          {"cpu", &cg->cpu_},
                                                          {"cpuacct", &cg->cpuacct_}};
  for (const auto& [controller, dir] : all) {
    std::string line = std::string("cgroup ") + controller + ": ";
    if (!dir->used()) {
      line += "missing (cgroup v2: " + v2_reason + "; cgroup v1: " + v1_reasons[controller] + ")";
    } else if (dir->v2) {
      line += "v2 " + dir->path + v2_note;
    } else {
      line += "v1 " + dir->path;
    }
    cg->report_.push_back(line);
  }
  return cg;
}

std::string Cgroups::SetUpV2(const std::string& instance_name, std::string* note) {
  const MountEntry* mount = nullptr;
  std::vector<MountEntry> mounts = ReadMountInfo();
  for (const MountEntry& m : mounts) {
    if (m.fstype == "cgroup2") mount = &m;
  }
  if (mount == nullptr) return "no cgroup2 mount";
  std::optional<std::string> path = OwnCgroupPath("");
  std::optional<std::string> own = path ? OnDisk(*mount, *path) : std::nullopt;
  if (!own) return "own cgroup not below the cgroup2 mount " + mount->mount_point;
  std::string base = *own;
  size_t leaf_len = std::strlen(kLeaf);
  if (base.size() > leaf_len && base.compare(base.size() - leaf_len, leaf_len, kLeaf) == 0) {
    base.resize(base.size() - leaf_len - 1);  // Moved there by an earlier sandbox.
  }
  std::istringstream offered(ReadText(base + "/cgroup.controllers"));
  std::string enable, word, reason = "cgroup2 does not delegate";
  std::vector<std::string> delegated;
  while (offered >> word) {
    if (word == "memory" || word == "pids" || word == "cpu") {
      enable += (enable.empty() ? "+" : " +") + word;
      delegated.push_back(word);
    }
  }
  if (delegated.empty()) return reason + " memory, pids or cpu to " + base;
  RemoveStale(base);
  Status enabled = WriteText(base + "/cgroup.subtree_control", enable);
  for (int attempt = 0; !enabled.ok() && attempt < 3; ++attempt) {
    std::string leaf = base + "/" + kLeaf, why;
    if (!MakeDir(leaf, &why)) return why;
    std::istringstream procs(ReadText(base + "/cgroup.procs"));
    std::string pid;
    while (procs >> pid) WriteText(leaf + "/cgroup.procs", pid).IgnoreError();
    enabled = WriteText(base + "/cgroup.subtree_control", enable);
    *note = " (the processes of " + base + " were moved into " + leaf + ")";
  }
  if (!enabled.ok()) return std::string(enabled.message());
  std::string instance = base + "/" + instance_name, why;
  if (!MakeDir(instance, &why)) return why;
  created_.push_back(instance);
  Status sub = WriteText(instance + "/cgroup.subtree_control", enable);
  if (!sub.ok()) return std::string(sub.message());
  CgroupDir dir{instance, true};
  for (const std::string& c : delegated) {
    (c == "memory" ? memory_ : c == "pids" ? pids_ : cpu_) = dir;
  }
  cpuacct_ = dir;  // cpu.stat exists in every v2 cgroup.
  return reason + " this controller to " + base;
}

std::map<std::string, std::string> Cgroups::SetUpV1(const std::string& instance_name) {
  std::map<std::string, std::string> reasons;
  std::vector<MountEntry> mounts = ReadMountInfo();
  const std::pair<const char*, CgroupDir*> wanted[] = {
      {"memory", &memory_}, {"pids", &pids_}, {"cpu", &cpu_}, {"cpuacct", &cpuacct_}};
  for (const auto& [controller, dir] : wanted) {
    if (dir->used()) continue;
    std::string& why = reasons[controller];
    why = "no hierarchy with this controller";
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
      *dir = CgroupDir{instance, false};
      break;
    }
  }
  return reasons;
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
  std::string name = "/slot-" + std::to_string(index);
  const std::pair<const CgroupDir*, CgroupDir*> dirs[] = {{&memory_, &slot->memory_},
                                                          {&pids_, &slot->pids_},
                                                          {&cpu_, &slot->cpu_},
                                                          {&cpuacct_, &slot->cpuacct_}};
  for (const auto& [instance, own] : dirs) {
    if (!instance->used()) continue;
    *own = CgroupDir{instance->path + name, instance->v2};
    if (std::find(slot->dirs_.begin(), slot->dirs_.end(), own->path) != slot->dirs_.end()) {
      continue;
    }
    std::string why;
    if (!MakeDir(own->path, &why)) return InternalError("sandbox: " + why);
    slot->dirs_.push_back(own->path);
    int fd = OpenOrMinusOne(own->path + "/cgroup.procs", O_WRONLY);
    if (fd < 0) {
      return InternalError("sandbox: cannot open " + own->path +
                           "/cgroup.procs: " + std::strerror(errno));
    }
    slot->procs_fds_.push_back(fd);
  }
  const CgroupDir& cpuacct = slot->cpuacct_;
  if (cpuacct.used()) {
    slot->cpu_usage_fd_ =
        OpenOrMinusOne(cpuacct.path + (cpuacct.v2 ? "/cpu.stat" : "/cpuacct.usage"), O_RDONLY);
  }
  if (slot->pids_.used()) {
    slot->pids_events_fd_ = OpenOrMinusOne(slot->pids_.path + "/pids.events", O_RDONLY);
  }
  const CgroupDir& memory = slot->memory_;
  if (memory.used()) {
    slot->memory_peak_fd_ = OpenOrMinusOne(
        memory.path + (memory.v2 ? "/memory.peak" : "/memory.max_usage_in_bytes"), O_RDWR);
    slot->oom_events_fd_ = OpenOrMinusOne(
        memory.path + (memory.v2 ? "/memory.events" : "/memory.oom_control"), O_RDONLY);
    if (memory.v2) WriteText(memory.path + "/memory.swap.max", "0").IgnoreError();
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
  if (memory_.used() && limits.memory_bytes != applied_.memory_bytes) {
    std::string bytes = std::to_string(limits.memory_bytes);
    if (memory_.v2) {
      RETURN_IF_ERROR(WriteText(memory_.path + "/memory.max", bytes));
    } else {
      // memsw (memory + swap) must stay >= the memory limit while both change.
      std::string memsw = memory_.path + "/memory.memsw.limit_in_bytes";
      bool has_memsw = access(memsw.c_str(), F_OK) == 0;
      // Nothing applied yet means the kernel limit is unlimited: lower it first.
      bool raising = applied_.memory_bytes != 0 && limits.memory_bytes > applied_.memory_bytes;
      if (has_memsw && raising) RETURN_IF_ERROR(WriteText(memsw, bytes));
      RETURN_IF_ERROR(WriteText(memory_.path + "/memory.limit_in_bytes", bytes));
      if (has_memsw && !raising) RETURN_IF_ERROR(WriteText(memsw, bytes));
    }
  }
  if (pids_.used() && limits.pids != applied_.pids) {
    RETURN_IF_ERROR(WriteText(pids_.path + "/pids.max", std::to_string(limits.pids)));
  }
  if (cpu_.used() && limits.cpu_cores != applied_.cpu_cores) {
    int64_t quota = std::llround(limits.cpu_cores * kCpuPeriodUs);
    if (cpu_.v2) {
      RETURN_IF_ERROR(WriteText(cpu_.path + "/cpu.max",
                                std::to_string(quota) + " " + std::to_string(kCpuPeriodUs)));
    } else {
      RETURN_IF_ERROR(WriteText(cpu_.path + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUs)));
      RETURN_IF_ERROR(WriteText(cpu_.path + "/cpu.cfs_quota_us", std::to_string(quota)));
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
  if (!cpuacct_.v2) return FirstNumber(text);
  int64_t usec = KeyedValue(text, "usage_usec");
  return usec < 0 ? -1 : usec * 1000;
}

Status SlotCgroup::StartRun() {
  if (memory_peak_fd_ >= 0) {
    const char* reset = memory_.v2 ? "reset\n" : "0";
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
