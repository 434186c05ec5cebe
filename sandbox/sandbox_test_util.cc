#include "sandbox/sandbox_test_util.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace lightrl {
namespace {

// Fields of /proc/<pid>/status, or empty when the process is gone.
std::string ProcStatus(const std::string& pid) { return ReadWholeFile("/proc/" + pid + "/status"); }

std::string Field(const std::string& status, const std::string& key) {
  size_t pos = status.find("\n" + key + ":");
  if (pos == std::string::npos) return "";
  size_t start = status.find_first_not_of(" \t", pos + key.size() + 2);
  return status.substr(start, status.find_first_of("\t\n", start) - start);
}

std::vector<std::string> Pids() {
  std::vector<std::string> pids;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    if (std::isdigit(static_cast<unsigned char>(e->d_name[0]))) pids.push_back(e->d_name);
  }
  closedir(d);
  return pids;
}

}  // namespace

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<pid_t> ProcessesOfUids(const std::vector<uint32_t>& uids) {
  std::vector<pid_t> found;
  for (const std::string& pid : Pids()) {
    std::string uid = Field(ProcStatus(pid), "Uid");
    if (uid.empty()) continue;
    if (std::find(uids.begin(), uids.end(), std::stoul(uid)) != uids.end()) {
      found.push_back(std::stoi(pid));
    }
  }
  return found;
}

std::vector<pid_t> ChildrenOfThisProcess() {
  std::vector<pid_t> children;
  std::string self = std::to_string(getpid());
  for (const std::string& pid : Pids()) {
    if (Field(ProcStatus(pid), "PPid") == self) children.push_back(std::stoi(pid));
  }
  return children;
}

std::vector<std::string> CgroupDirs(const SandboxReport& report) {
  std::vector<std::string> dirs;
  for (const SandboxReport::Guarantee& g : report.guarantees) {
    if (g.name.rfind("cgroup ", 0) != 0 || !g.holds) continue;
    std::string path = g.detail.substr(3);  // After "v1 " or "v2 ".
    dirs.push_back(path.substr(0, path.find(';')));
  }
  return dirs;
}

SandboxConfig SmallSandboxConfig(int slots) {
  SandboxConfig config;
  config.slots = slots;
  config.box_bytes = 16 * kMiB;
  config.tmp_bytes = 16 * kMiB;
  config.shm_bytes = 4 * kMiB;
  RunLimits& l = config.default_limits;
  l.wall_ms = 2000;
  l.cpu_ms = 1000;
  l.memory_bytes = 64 * kMiB;
  l.processes = 32;
  l.output_bytes = 64 * 1024;
  l.file_size_bytes = 8 * kMiB;
  return config;
}

std::unique_ptr<Sandbox> CreateOrFail(const SandboxConfig& config) {
  StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create(config);
  if (!sandbox.ok()) {
    ADD_FAILURE() << "the sandbox cannot be created on this machine: " << sandbox.status();
    return nullptr;
  }
  return std::move(sandbox).value();
}

void DestroyAndCheckClean(std::unique_ptr<Sandbox> sandbox) {
  if (sandbox == nullptr) return;
  std::vector<uint32_t> uids = sandbox->slot_uids();
  EXPECT_TRUE(ProcessesOfUids(uids).empty()) << "a process of a finished run survived";
  std::vector<std::string> cgroups = CgroupDirs(sandbox->report());
  sandbox.reset();
  EXPECT_TRUE(ProcessesOfUids(uids).empty());
  EXPECT_TRUE(ChildrenOfThisProcess().empty()) << "a zygote survived the sandbox";
  for (const std::string& dir : cgroups) {
    struct stat st;
    EXPECT_NE(stat(dir.c_str(), &st), 0) << "cgroup left behind: " << dir;
  }
}

}  // namespace lightrl
