// A minimal HTTP/1.1 GET client, for operator tools (`lightrl status`) and tests.
// Thread-safety: reentrant.
#ifndef LIGHTRL_CORE_HTTP_CLIENT_H_
#define LIGHTRL_CORE_HTTP_CLIENT_H_

#include <chrono>
#include <string>

#include "core/status.h"

namespace lightrl {

struct HttpReply {
  int status = 0;
  std::string body;
};

// GETs `url` ("http://host:port/path"). Errors: InvalidArgument for a malformed url,
// Unavailable when the server cannot be reached or answers nothing within `timeout`.
StatusOr<HttpReply> HttpGet(const std::string& url, std::chrono::milliseconds timeout);

}  // namespace lightrl

#endif  // LIGHTRL_CORE_HTTP_CLIENT_H_
