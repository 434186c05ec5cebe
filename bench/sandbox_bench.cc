// lightrl-bench-sandbox: sandbox runs per second against a bare fork+exec.
//
// For a trivial program (/bin/true) and for Python (python3 -c 'print(6*7)'), measures
// runs/s of a full-isolation sandbox run and of a bare fork+exec+wait of the same program
// in the same process, alternating batches after a warm-up. Reports the median runs/s of
// each, the median and quartiles of the per-pair ratio sandbox/bare (goal >= 0.7 for
// /bin/true) and the count of wrong results (a run that did not exit 0 with the expected
// output). Needs root, like the sandbox.
//
//   lightrl-bench-sandbox --runs=200 --repeats=21 --threads=1
#include <gflags/gflags.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "core/logging.h"
#include "sandbox/sandbox.h"

DEFINE_int32(runs, 200, "runs per batch of the trivial program (python: runs / 20)");
DEFINE_int32(repeats, 21, "bare/sandbox batch pairs per configuration; medians are reported");
DEFINE_int32(threads, 1, "concurrent callers (and sandbox slots)");
DEFINE_bool(python, true, "also measure python3");

namespace lightrl {
namespace {

using Clock = std::chrono::steady_clock;

struct Program {
  std::string name;
  std::vector<std::string> argv;
  std::string expected_stdout;
};

// Bare fork + execve + waitpid; true when it exited 0 with the expected output.
bool BareRun(const Program& program) {
  int out[2];
  if (pipe(out) != 0) return false;
  std::vector<char*> argv;
  for (const std::string& a : program.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  char path_env[] = "PATH=/usr/bin:/bin";
  char* envp[] = {path_env, nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execve(argv[0], argv.data(), envp);
    _exit(127);
  }
  close(out[1]);
  std::string got;
  char buf[256];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == program.expected_stdout;
}

bool SandboxRun(Sandbox& sandbox, const Program& program) {
  RunSpec spec;
  spec.argv = program.argv;
  StatusOr<RunResult> r = sandbox.Run(spec);
  return r.ok() && r->outcome == RunOutcome::kExited && r->exit_code == 0 &&
         r->stdout_data == program.expected_stdout;
}

// Runs `runs` calls of `one` split over FLAGS_threads threads; returns runs/s and adds
// failures to `wrong`.
double Batch(int runs, const std::function<bool()>& one, int* wrong) {
  std::atomic<int> next{0}, failures{0};
  Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < FLAGS_threads; ++t) {
    threads.emplace_back([&] {
      while (next.fetch_add(1) < runs) {
        if (!one()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  *wrong += failures.load();
  return runs / seconds;
}

// Alternates a bare batch and a sandbox batch `repeats` times; the ratio is taken per
// adjacent pair, so load that drifts over the run cancels out, and the medians reported.
void Measure(Sandbox& sandbox, const Program& program, int runs) {
  int wrong = 0;
  Batch(
      std::max(1, runs / 10), [&] { return BareRun(program); }, &wrong);  // Warm-up.
  Batch(
      std::max(1, runs / 10), [&] { return SandboxRun(sandbox, program); }, &wrong);
  wrong = 0;
  std::vector<double> bare, boxed, ratios;
  for (int r = 0; r < FLAGS_repeats; ++r) {
    bare.push_back(Batch(
        runs, [&] { return BareRun(program); }, &wrong));
    boxed.push_back(Batch(
        runs, [&] { return SandboxRun(sandbox, program); }, &wrong));
    ratios.push_back(boxed.back() / bare.back());
  }
  std::sort(ratios.begin(), ratios.end());
  std::printf(
      "%-10s threads %d  bare %7.1f runs/s  sandbox %7.1f runs/s  ratio %.3f "
      "(quartiles %.3f-%.3f)  wrong %d of %d\n",
      program.name.c_str(), FLAGS_threads, Median(bare), Median(boxed), Median(ratios),
      ratios[ratios.size() / 4], ratios[ratios.size() * 3 / 4], wrong, 2 * runs * FLAGS_repeats);
}

int Main() {
  SandboxConfig config;
  config.slots = FLAGS_threads;
  StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create(config);
  if (!sandbox.ok()) {
    std::fprintf(stderr, "%s\n", sandbox.status().ToString().c_str());
    return 1;
  }
  std::printf("%s", (*sandbox)->report().ToString().c_str());
  Measure(**sandbox, {"/bin/true", {"/bin/true"}, ""}, FLAGS_runs);
  if (FLAGS_python) {
    Measure(**sandbox, {"python3", {"/usr/bin/python3", "-c", "print(6*7)"}, "42\n"},
            std::max(1, FLAGS_runs / 20));
  }
  return 0;
}

}  // namespace
}  // namespace lightrl

int main(int argc, char** argv) {
  gflags::SetUsageMessage("sandbox runs/s against a bare fork+exec");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return lightrl::Main();
}
