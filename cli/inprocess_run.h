// `lightrl run` with launcher.placement: threads — every role of the run as threads of this
// one process, talking over inproc:// sockets: the same nodes as the process placement, for
// tests and tiny runs. Each node keeps its own metrics registry; the coordinator's is served.
#ifndef LIGHTRL_CLI_INPROCESS_RUN_H_
#define LIGHTRL_CLI_INPROCESS_RUN_H_

#include "cli/run_config.h"

namespace lightrl {

// Runs `run` until the coordinator finishes or SIGINT/SIGTERM arrives; returns the exit code
// (0 when the run finished and its accounting balanced).
int RunInProcess(RunConfig run, const std::string& metrics_address);

}  // namespace lightrl

#endif  // LIGHTRL_CLI_INPROCESS_RUN_H_
