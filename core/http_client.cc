#include "core/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <regex>

namespace lightrl {

StatusOr<HttpReply> HttpGet(const std::string& url, std::chrono::milliseconds timeout) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = boost::asio::ip::tcp;
  std::smatch m;
  static const std::regex kUrl(R"(http://([^/:]+):(\d+)(/.*)?)");
  if (!std::regex_match(url, m, kUrl)) {
    return InvalidArgumentError("bad url '" + url + "': expected http://host:port/path");
  }
  std::string host = m[1], port = m[2], target = m[3].matched ? std::string(m[3]) : "/";
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) return UnavailableError(url + ": " + ec.message());
  stream.expires_after(timeout);
  stream.connect(endpoints, ec);
  if (ec) return UnavailableError(url + ": " + ec.message());
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, host);
  request.set(http::field::connection, "close");
  http::write(stream, request, ec);
  if (ec) return UnavailableError(url + ": " + ec.message());
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response, ec);
  if (ec) return UnavailableError(url + ": " + ec.message());
  return HttpReply{static_cast<int>(response.result_int()), response.body()};
}

}  // namespace lightrl
