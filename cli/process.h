// Process plumbing shared by the lightrl subcommands: signal-driven shutdown and the common
// process setup (log tag and level, metrics endpoint).
#ifndef LIGHTRL_CLI_PROCESS_H_
#define LIGHTRL_CLI_PROCESS_H_

#include <memory>
#include <string>

#include "core/http_server.h"
#include "core/metrics.h"
#include "core/status.h"

namespace lightrl {

// Blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread and every thread it starts later,
// so that WaitForShutdown() is the only place they are delivered. Call first thing in main().
void BlockShutdownSignals();

enum class ShutdownCause { kSignal, kFinished };
// Waits until SIGINT/SIGTERM arrives (kSignal) or some thread calls NotifyFinished()
// (kFinished).
ShutdownCause WaitForShutdown();
// Wakes WaitForShutdown() with kFinished. Safe from any thread.
void NotifyFinished();

// Sets the log tag and level ("debug", "info", "warning", "error").
Status SetUpLogging(const std::string& tag, const std::string& log_level);
// Starts the metrics endpoint on `listen_address` ("host:port") with extra `routes`.
// Errors: a bad address, or a port that cannot be bound.
StatusOr<std::unique_ptr<HttpServer>> StartMetricsServer(
    const std::string& listen_address, const MetricsRegistry* metrics,
    std::map<std::string, HttpHandler> routes = {});

}  // namespace lightrl

#endif  // LIGHTRL_CLI_PROCESS_H_
