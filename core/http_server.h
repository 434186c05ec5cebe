// The HTTP endpoint every lightrl process serves: GET /metrics (Prometheus text format),
// GET /healthz, and any extra GET routes the process registers (e.g. /status).
//
// The server runs on its own thread with one asynchronous event loop, so a slow or hostile
// client never blocks the process or other clients:
//   - a request that does not complete within `request_timeout_ms` is dropped;
//   - a header block larger than `max_header_bytes` is answered 431 and the connection closed;
//   - unparseable bytes are answered 400 and the connection closed;
//   - methods other than GET/HEAD get 405, unknown paths 404;
//   - beyond `max_connections` open connections, new ones are closed at once.
// Boost.Asio/Beast errors never escape this module.
#ifndef LIGHTRL_CORE_HTTP_SERVER_H_
#define LIGHTRL_CORE_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/metrics.h"
#include "core/status.h"

namespace lightrl {

struct HttpServerConfig {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0 picks a free port; see HttpServer::port().
  int max_header_bytes = 8192;
  int request_timeout_ms = 5000;
  int max_connections = 64;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// A GET handler. Runs on the server thread; must be thread-safe with respect to what it reads.
using HttpHandler = std::function<HttpResponse()>;

class HttpServer {
 public:
  // Binds, starts the server thread and returns once the socket listens.
  // `registry` must outlive the server. `health` answers /healthz: OK gives 200 "ok", an error
  // gives 503 with the status text. `routes` maps extra paths (e.g. "/status") to handlers.
  // Errors: Unavailable when the address cannot be bound.
  static StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerConfig& config, const MetricsRegistry* registry,
      std::function<Status()> health, std::map<std::string, HttpHandler> routes = {});
  // Stops accepting, closes every connection and joins the thread.
  ~HttpServer();

  // The port actually bound.
  int port() const;

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses "host:port" or ":port" or "port"; a missing host is "127.0.0.1". Used for flags.
StatusOr<HttpServerConfig> ParseListenAddress(const std::string& address);

}  // namespace lightrl

#endif  // LIGHTRL_CORE_HTTP_SERVER_H_
