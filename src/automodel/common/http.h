// A small blocking HTTP client over libcurl (MLflow's REST API, the HF hub): bounded connect and
// total (or stall) timeouts, so an unreachable server is an error, never a hang; redirects are
// returned to the caller, who decides where credentials may follow.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace automodel {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST or PUT
  std::string url;
  std::string body;                  // sent as application/json when not empty
  std::vector<std::string> headers;  // "Name: value"
  long connect_timeout_s = 5, timeout_s = 30;  // timeout_s 0: no total limit (large downloads)
  long stall_timeout_s = 0;  // > 0: abort when under 1 byte/s for this long
  bool verify_tls = true;
  // When set, a 2xx body streams here (with its status: 200, 206, ...) instead of into
  // HttpResponse::body; returning false aborts. Other statuses' bodies (error text) stay in body.
  std::function<bool(long status, const char* data, size_t size)> on_body;
};

struct HttpResponse {
  long status = 0;  // 0 when no response came (error says why)
  std::string body;
  std::string error;  // transport failure (connection refused, timeout, TLS, cut off, ...)
  bool unreachable = false;  // no connection at all (refused, unknown host): retrying will not help
  std::map<std::string, std::string> headers;  // names lower-cased; the final response's
  std::string header(const std::string& lower_name) const;
};

HttpResponse http_request(const HttpRequest& request);
// Percent-encodes a query parameter value.
std::string url_encode(const std::string& value);
// `location` (absolute or relative, from a redirect) resolved against `base`.
std::string resolve_url(const std::string& base, const std::string& location);
// "scheme://host:port" of `url`, to tell whether a redirect leaves the server.
std::string url_origin(const std::string& url);

// Retryable: no response (reset, timeout, cut off; not `unreachable`), 408, 429 and 5xx.
bool http_retryable(const HttpResponse& response);
// Seconds the server asked us to wait (Retry-After in seconds), or -1.
double retry_after_seconds(const HttpResponse& response);
// Calls `attempt` until it gives a non-retryable response or `max_attempts` ran out, waiting
// 1, 2, 4, ... s (capped at 30 s) or Retry-After between tries; logs each retry naming `what`.
HttpResponse http_with_retries(const std::function<HttpResponse()>& attempt, int max_attempts,
                               const std::string& what);

}  // namespace automodel
