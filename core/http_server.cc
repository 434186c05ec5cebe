#include "core/http_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <thread>

#include "core/logging.h"

namespace lightrl {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr int kMaxBodyBytes = 1024;

struct ServerState {
  HttpServerConfig config;
  const MetricsRegistry* registry;
  std::function<Status()> health;
  std::map<std::string, HttpHandler> routes;
  std::atomic<int> open_connections{0};
};

HttpResponse Route(ServerState& state, const std::string& target) {
  std::string path = target.substr(0, target.find('?'));
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", state.registry->Render()};
  }
  if (path == "/healthz") {
    Status health = state.health ? state.health() : Status::Ok();
    if (health.ok()) return {200, "text/plain; charset=utf-8", "ok\n"};
    return {503, "text/plain; charset=utf-8", health.ToString() + "\n"};
  }
  auto it = state.routes.find(path);
  if (it != state.routes.end()) return it->second();
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ServerState> state)
      : stream_(std::move(socket)), state_(std::move(state)) {
    state_->open_connections.fetch_add(1);
  }
  ~Session() { state_->open_connections.fetch_sub(1); }

  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->config.max_header_bytes));
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(std::chrono::milliseconds(state_->config.request_timeout_ms));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      Close();
      return;
    }
    if (ec == http::error::header_limit) {
      Reply(HttpResponse{431, "text/plain; charset=utf-8", "request header too large\n"}, 11, false,
            false);
      return;
    }
    if (ec == http::error::body_limit) {
      Reply(HttpResponse{413, "text/plain; charset=utf-8", "request body too large\n"}, 11, false,
            false);
      return;
    }
    if (ec) {
      Reply(HttpResponse{400, "text/plain; charset=utf-8", "bad request\n"}, 11, false, false);
      return;
    }
    const auto& request = parser_->get();
    bool head = request.method() == http::verb::head;
    if (request.method() != http::verb::get && !head) {
      Reply(HttpResponse{405, "text/plain; charset=utf-8", "only GET is served\n"},
            request.version(), request.keep_alive(), false);
      return;
    }
    HttpResponse response = Route(*state_, std::string(request.target()));
    Reply(response, request.version(), request.keep_alive(), head);
  }

  void Reply(const HttpResponse& response, unsigned version, bool keep_alive, bool head) {
    auto message = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    message->set(http::field::server, "lightrl");
    message->set(http::field::content_type, response.content_type);
    message->keep_alive(keep_alive);
    message->body() = head ? std::string() : response.body;
    message->content_length(response.body.size());
    stream_.expires_after(std::chrono::milliseconds(state_->config.request_timeout_ms));
    http::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keep_alive](beast::error_code ec, size_t) {
          if (ec || !keep_alive) {
            self->Close();
          } else {
            self->ReadRequest();
          }
        });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::shared_ptr<ServerState> state_;
};

}  // namespace

struct HttpServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::shared_ptr<ServerState> state;
  std::thread thread;
  int port = 0;

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (state->open_connections.load() >= state->config.max_connections) {
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          std::make_shared<Session>(std::move(socket), state)->ReadRequest();
        }
      }
      Accept();
    });
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerConfig& config,
                                                        const MetricsRegistry* registry,
                                                        std::function<Status()> health,
                                                        std::map<std::string, HttpHandler> routes) {
  CHECK(registry != nullptr);
  auto impl = std::make_unique<Impl>();
  impl->state = std::make_shared<ServerState>();
  impl->state->config = config;
  impl->state->registry = registry;
  impl->state->health = std::move(health);
  impl->state->routes = std::move(routes);

  beast::error_code ec;
  auto address = asio::ip::make_address(config.bind_address, ec);
  if (ec) {
    return InvalidArgumentError("metrics endpoint: bad bind address '" + config.bind_address +
                                "': " + ec.message());
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(config.port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return UnavailableError("metrics endpoint: cannot listen on " + config.bind_address + ":" +
                            std::to_string(config.port) + ": " + ec.message());
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int HttpServer::port() const { return impl_->port; }

StatusOr<HttpServerConfig> ParseListenAddress(const std::string& address) {
  HttpServerConfig config;
  std::string port_text = address;
  size_t colon = address.rfind(':');
  if (colon != std::string::npos) {
    if (colon > 0) config.bind_address = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return InvalidArgumentError("bad listen address '" + address + "': expected host:port");
  }
  config.port = static_cast<int>(port);
  return config;
}

}  // namespace lightrl
