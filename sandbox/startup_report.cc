#include "sandbox/startup_report.h"

#include <sys/stat.h>

#include <algorithm>
#include <sstream>

namespace lightrl {
namespace {

std::string Mib(int64_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; }

// "Key:\tvalue" lines of /proc/self/status.
std::string StatusField(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::string value = line.substr(key.size() + 1);
      size_t start = value.find_first_not_of(" \t");
      return start == std::string::npos ? "" : value.substr(start);
    }
  }
  return "<absent>";
}

// Interface names of the /proc/net/dev listing that follows its "Inter-|" header.
std::vector<std::string> Interfaces(const std::string& text) {
  std::vector<std::string> names;
  size_t header = text.find("Inter-|");
  std::istringstream in(header == std::string::npos ? "" : text.substr(header));
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos || line.find('|') != std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    names.push_back(name);
  }
  return names;
}

// Entries of the /proc/net/route listing that follows its "Iface" header; -1 if absent.
int Routes(const std::string& text) {
  size_t header = text.find("Iface\tDestination");
  if (header == std::string::npos) return -1;
  std::istringstream in(text.substr(header));
  std::string line;
  int routes = -1;
  while (std::getline(in, line)) ++routes;
  return routes;
}

std::string JoinUids(const std::vector<uint32_t>& uids) {
  std::string out;
  for (uint32_t uid : uids) out += (out.empty() ? "" : ", ") + std::to_string(uid);
  return out;
}

}  // namespace

RunSpec StartupProbe() {
  RunSpec probe;
  probe.argv = {"/bin/cat", "/proc/self/status", "/proc/net/dev", "/proc/net/route"};
  return probe;
}

SandboxReport MakeStartupReport(const SandboxConfig& config, const SeccompFilter& seccomp,
                                const Cgroups& cgroups, const std::string& probe_stdout,
                                const std::vector<uint32_t>& slot_uids) {
  SandboxReport report;
  auto add = [&](std::string name, bool holds, std::string detail) {
    report.guarantees.push_back({std::move(name), holds, std::move(detail)});
  };
  const std::string& status = probe_stdout;
  add("namespaces", true,
      "pid, mount, uts, network (loopback only), cgroup and ipc per slot; the ipc namespace is "
      "replaced after any run that leaves SysV objects");
  std::string present;
  for (const std::string& p : config.system_paths) {
    struct stat st;
    if (lstat(p.c_str(), &st) == 0) present += (present.empty() ? "" : " ") + p;
  }
  add("filesystem", true,
      "tmpfs root with pivot_root; read-only nosuid,nodev binds of " + present +
          "; /proc with hidepid; fresh tmpfs /box (" + Mib(config.box_bytes) + "), /tmp (" +
          Mib(config.tmp_bytes) + ") and /dev/shm (" + Mib(config.shm_bytes) + ") every run");
  std::string uid = slot_uids.empty() ? "?" : std::to_string(slot_uids[0]);
  std::string ids = uid + "\t" + uid + "\t" + uid + "\t" + uid;
  auto spaced = [&](const char* key) {
    std::string v = StatusField(status, key);
    std::replace(v.begin(), v.end(), '\t', ' ');
    return v;
  };
  add("uid",
      StatusField(status, "Uid") == ids && StatusField(status, "Gid") == ids &&
          StatusField(status, "Groups").empty(),
      "probe: Uid " + spaced("Uid") + ", Gid " + spaced("Gid") + ", Groups '" + spaced("Groups") +
          "' (slot uids " + JoinUids(slot_uids) + ")");
  std::string caps;
  bool caps_ok = true;
  for (const char* c : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    std::string v = StatusField(status, c);
    caps += std::string(c) + "=" + v + " ";
    caps_ok &= v == "0000000000000000";
  }
  add("capabilities", caps_ok, caps + "(probe)");
  add("no_new_privs", StatusField(status, "NoNewPrivs") == "1",
      "NoNewPrivs=" + StatusField(status, "NoNewPrivs") + " (probe)");
  add("seccomp", StatusField(status, "Seccomp") == "2",
      "mode " + StatusField(status, "Seccomp") + " (probe); kill on foreign arch and x32, " +
          std::to_string(seccomp.killed_syscalls) + " calls kill, " +
          std::to_string(seccomp.errno_syscalls) + " fail, " +
          std::to_string(seccomp.argument_checks) + " argument checks");
  std::vector<std::string> interfaces = Interfaces(status);
  int routes = Routes(status);
  add("network", interfaces == std::vector<std::string>{"lo"} && routes == 0,
      "interfaces seen by the probe: " + (interfaces.empty() ? "none" : interfaces[0]) +
          (interfaces.size() > 1 ? " and more" : "") + "; IPv4 routes: " + std::to_string(routes));
  add("rlimits", true,
      std::string("CPU, FSIZE, NOFILE, NPROC, STACK, CORE=0, MEMLOCK=0, MSGQUEUE=0") +
          (cgroups.memory() ? "" : ", AS as the memory limit (no memory cgroup)"));
  for (const std::string& line : cgroups.report()) {
    size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    if (name == "cgroup cpuacct") continue;  // Reported as "cpu accounting".
    add(name, line.find("missing") == std::string::npos, line.substr(colon + 2));
  }
  add("cpu accounting", cgroups.cpu_accounting(),
      cgroups.cpu_accounting() ? "summed over all processes by the slot cgroup, checked every " +
                                     std::to_string(config.cpu_check_ms) + " ms"
                               : "only RLIMIT_CPU per process while running, and the rusage "
                                 "of reaped processes at the end");
  add("wall deadline", true, "the supervisor kills the run at wall_ms whatever its CPU use");
  add("output caps", true, "stdout and stderr over output_bytes each kill the run");
  add("teardown", true,
      "after every run the namespace's pid 1 kills and reaps every other process in it");
  return report;
}

Status CheckMandatoryGuarantees(const SandboxReport& report) {
  for (const SandboxReport::Guarantee& g : report.guarantees) {
    bool optional = g.name.rfind("cgroup", 0) == 0 || g.name == "cpu accounting";
    if (!g.holds && !optional) {
      return FailedPreconditionError("sandbox: guarantee '" + g.name +
                                     "' does not hold: " + g.detail + "\n" + report.ToString());
    }
  }
  return Status::Ok();
}

}  // namespace lightrl
