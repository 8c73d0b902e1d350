// A small blocking HTTP client over libcurl for JSON APIs (MLflow's REST API): bounded connect
// and total timeouts, so an unreachable server is an error, never a hang.
#pragma once

#include <string>
#include <vector>

namespace automodel {

struct HttpRequest {
  std::string method = "GET";  // GET, POST or PUT
  std::string url;
  std::string body;                  // sent as application/json when not empty
  std::vector<std::string> headers;  // "Name: value"
  long connect_timeout_s = 5, timeout_s = 30;
  bool verify_tls = true;
};

struct HttpResponse {
  long status = 0;  // 0 when no response came (error says why)
  std::string body;
  std::string error;  // transport failure (connection refused, timeout, TLS, ...)
};

HttpResponse http_request(const HttpRequest& request);
// Percent-encodes a query parameter value.
std::string url_encode(const std::string& value);

}  // namespace automodel
