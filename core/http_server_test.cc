#include "core/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "core/http_client.h"
#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.GetCounter("lightrl_test_requests_total", "Requests.")->Increment(5);
    StartServer(400);
  }

  void StartServer(int request_timeout_ms) {
    server_.reset();
    HttpServerConfig config;
    config.request_timeout_ms = request_timeout_ms;
    config.max_header_bytes = 1024;
    config.max_connections = 8;
    auto server = HttpServer::Start(
        config, &registry_,
        [this] { return healthy_.load() ? Status::Ok() : UnavailableError("learner lost"); },
        {{"/status", [] {
            return HttpResponse{200, "application/json", "{\"step\":3}"};
          }}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::string Get(const std::string& request) {
    auto response = testing::TcpExchange(server_->port(), request, milliseconds(3000));
    EXPECT_TRUE(response.ok());
    return response.ok() ? *response : "";
  }

  MetricsRegistry registry_;
  std::atomic<bool> healthy_{true};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesMetricsInExpositionFormat) {
  std::string response = Get("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  size_t body = response.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  std::string text = response.substr(body + 4);
  EXPECT_THAT(text, HasSubstr("lightrl_test_requests_total 5\n"));
  auto check = testing::RunCommand("promtool check metrics", text);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->exit_code, 0) << check->output;
}

TEST_F(HttpServerTest, HealthzReflectsHealthCallback) {
  EXPECT_THAT(Get("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK"));
  healthy_ = false;
  std::string response = Get("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(response, HasSubstr("UNAVAILABLE: learner lost"));
}

TEST_F(HttpServerTest, ServesExtraRoutesAndRejectsOthers) {
  EXPECT_THAT(Get("GET /status HTTP/1.1\r\nConnection: close\r\n\r\n"), HasSubstr("{\"step\":3}"));
  EXPECT_THAT(Get("GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n"), StartsWith("HTTP/1.1 404"));
  EXPECT_THAT(Get("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 405"));
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::string response =
      Get("GET /healthz HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  size_t first = response.find("HTTP/1.1 200");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(response.find("HTTP/1.1 200", first + 1), std::string::npos);
}

TEST_F(HttpServerTest, GarbageGets400) {
  EXPECT_THAT(Get("\x01\x02garbage that is not http\r\n\r\n"), StartsWith("HTTP/1.1 400"));
}

TEST_F(HttpServerTest, OversizedHeaderGets431) {
  std::string huge = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(4000, 'a') + "\r\n\r\n";
  EXPECT_THAT(Get(huge), StartsWith("HTTP/1.1 431"));
}

TEST_F(HttpServerTest, StalledPartialRequestNeitherBlocksOthersNorStaysOpen) {
  auto stalled = testing::TcpConnect(server_->port());
  ASSERT_TRUE(stalled.ok());
  std::string partial = "GET /metr";
  ASSERT_EQ(send(*stalled, partial.data(), partial.size(), 0),
            static_cast<ssize_t>(partial.size()));
  // Another client is served while the first request is incomplete.
  EXPECT_THAT(Get("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 200"));
  // The stalled connection is closed by the server after its request timeout (400 ms).
  bool eof = false;
  std::string got = testing::ReadUntilClose(*stalled, milliseconds(5000), &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(got, "");
  close(*stalled);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAreClosed) {
  StartServer(60000);  // Held connections must not time out during the test.
  std::vector<int> held;
  for (int i = 0; i < 8; ++i) {
    auto fd = testing::TcpConnect(server_->port());
    ASSERT_TRUE(fd.ok());
    held.push_back(*fd);
    // Each held connection is proven accepted by a completed keep-alive request.
    std::string request = "GET /healthz HTTP/1.1\r\n\r\n";
    ASSERT_GT(send(*fd, request.data(), request.size(), 0), 0);
    bool eof = false;
    std::string reply;
    while (reply.find("ok\n") == std::string::npos && !eof) {
      reply += testing::ReadUntilClose(*fd, milliseconds(100), &eof);
      if (reply.empty() && eof) break;
    }
    ASSERT_THAT(reply, HasSubstr("200 OK"));
  }
  auto extra = testing::TcpConnect(server_->port());
  ASSERT_TRUE(extra.ok());
  std::string request = "GET /healthz HTTP/1.1\r\n\r\n";
  send(*extra, request.data(), request.size(), MSG_NOSIGNAL);
  bool eof = false;
  std::string got = testing::ReadUntilClose(*extra, milliseconds(3000), &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(got, "");
  close(*extra);
  for (int fd : held) close(fd);
}

TEST_F(HttpServerTest, ClientGetsStatusAndBody) {
  auto reply = HttpGet("http://127.0.0.1:" + std::to_string(server_->port()) + "/status",
                       milliseconds(3000));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "{\"step\":3}");
  auto missing =
      HttpGet("http://127.0.0.1:" + std::to_string(server_->port()) + "/nope", milliseconds(3000));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(HttpGet("ftp://x", milliseconds(100)).status().code(), StatusCode::kInvalidArgument);
}

TEST(ParseListenAddressTest, AcceptsHostPortForms) {
  auto a = ParseListenAddress("0.0.0.0:9100");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->bind_address, "0.0.0.0");
  EXPECT_EQ(a->port, 9100);
  auto b = ParseListenAddress(":0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->bind_address, "127.0.0.1");
  EXPECT_FALSE(ParseListenAddress("host:notaport").ok());
  EXPECT_FALSE(ParseListenAddress("1.2.3.4:70000").ok());
}

}  // namespace
}  // namespace lightrl
