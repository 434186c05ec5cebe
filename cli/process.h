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

// Signals are turned into bytes on a pipe by async-signal-safe handlers, so they are handled
// the same whichever thread the kernel picks to deliver them (libraries such as OpenBLAS
// start threads before main(), so blocking signals in main's threads is not enough).
//
// Installs handlers for SIGINT, SIGTERM, SIGUSR1 and SIGCHLD. Call once, first thing in a
// subcommand; later calls do nothing.
void InstallSignalPipe();
// The read end of the pipe: readable when a signal arrived (for poll()).
int SignalPipeFd();
// The next signal that arrived, or 0 when none is waiting. Never blocks.
int NextSignal();

enum class ShutdownCause { kSignal, kFinished };
// Waits until SIGINT/SIGTERM arrives (kSignal) or some thread calls NotifyFinished()
// (kFinished). Needs InstallSignalPipe().
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
