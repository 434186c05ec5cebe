// The process scaffold shared by the worker subcommands (learner, rollout, reward, echo):
// flags, signals, the metrics endpoint, the run config, then the role's node until SIGINT,
// SIGTERM or a Shutdown from the coordinator.
#ifndef LIGHTRL_CLI_WORKER_PROCESS_H_
#define LIGHTRL_CLI_WORKER_PROCESS_H_

#include <functional>
#include <string>
#include <zmq.hpp>

#include "cli/run_config.h"
#include "core/metrics.h"

namespace lightrl {

struct WorkerContext {
  zmq::context_t* zmq;
  const RunConfig* run;
  std::string worker_id;
  uint16_t metrics_port;
  MetricsRegistry* metrics;
  std::function<void()> request_shutdown;  // For the node's OnShutdown.
};

// Builds and starts the role's node; returns what stops it (and owns it).
using StartWorker = std::function<StatusOr<std::function<void()>>(const WorkerContext&)>;

// Parses flags (argv as given to the subcommand) and runs the worker; returns the exit code:
// 0 after a clean stop, 2 for a bad flag or config, 1 when the node fails to start.
int RunWorkerProcess(int argc, char** argv, const std::string& role, const StartWorker& start);

// "<role>-<host>-<pid>", the id of a worker started without --id.
std::string DefaultWorkerId(const std::string& role);

}  // namespace lightrl

#endif  // LIGHTRL_CLI_WORKER_PROCESS_H_
