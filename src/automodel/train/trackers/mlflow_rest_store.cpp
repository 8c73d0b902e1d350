// MLflow's REST API (/api/2.0/mlflow/...), the one its Python client speaks to a tracking server.
#include <fmt/format.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/base64.h"
#include "automodel/common/error.h"
#include "automodel/common/http.h"
#include "automodel/train/trackers/mlflow_store.h"

namespace automodel::train {
namespace {

nlohmann::json pairs_json(const MlflowPairs& pairs) {
  auto out = nlohmann::json::array();
  for (const auto& [k, v] : pairs) out.push_back({{"key", k}, {"value", v}});
  return out;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class RestStore : public MlflowStore {
 public:
  explicit RestStore(std::string uri) : base_(std::move(uri)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
    if (auto token = env("MLFLOW_TRACKING_TOKEN"); !token.empty()) headers_.push_back("Authorization: Bearer " + token);
    auto user = env("MLFLOW_TRACKING_USERNAME");
    if (!user.empty()) credentials_ = user + ":" + env("MLFLOW_TRACKING_PASSWORD");
    auto insecure = env("MLFLOW_TRACKING_INSECURE_TLS");
    verify_tls_ = !(insecure == "true" || insecure == "1");
  }
  std::string describe() const override { return base_; }

  std::string experiment(const std::string& name, const std::string& artifact_location) override {
    auto r = call("GET", "experiments/get-by-name?experiment_name=" + url_encode(name), nullptr, /*missing_ok=*/true);
    if (!r.is_null()) return r["experiment"]["experiment_id"].get<std::string>();
    nlohmann::json body = {{"name", name}};
    if (!artifact_location.empty()) body["artifact_location"] = artifact_location;
    return call("POST", "experiments/create", body)["experiment_id"].get<std::string>();
  }

  std::string create_run(const std::string& experiment_id, const std::string& run_name, int64_t start_ms,
                         const MlflowPairs& tags) override {
    nlohmann::json body = {{"experiment_id", experiment_id}, {"start_time", start_ms}, {"tags", pairs_json(tags)}};
    if (!run_name.empty()) body["run_name"] = run_name;
    if (auto user = env("USER"); !user.empty()) body["user_id"] = user;
    return call("POST", "runs/create", body)["run"]["info"]["run_id"].get<std::string>();
  }

  bool run_exists(const std::string& run_id) override {
    return !call("GET", "runs/get?run_id=" + url_encode(run_id), nullptr, /*missing_ok=*/true).is_null();
  }

  // The server takes at most 1000 metrics, 100 params and 100 tags per request.
  void log_batch(const std::string& run_id, const std::vector<MlflowMetric>& metrics, const MlflowPairs& params,
                 const MlflowPairs& tags) override {
    for (size_t i = 0; i < metrics.size(); i += 1000) {
      auto out = nlohmann::json::array();
      for (size_t j = i; j < std::min(metrics.size(), i + 1000); ++j)
        out.push_back({{"key", metrics[j].key}, {"value", metrics[j].value},
                       {"timestamp", metrics[j].timestamp_ms}, {"step", metrics[j].step}});
      call("POST", "runs/log-batch", {{"run_id", run_id}, {"metrics", out}});
    }
    for (const auto* pairs : {&params, &tags}) {
      for (size_t i = 0; i < pairs->size(); i += 100) {
        MlflowPairs chunk(pairs->begin() + static_cast<long>(i),
                          pairs->begin() + static_cast<long>(std::min(pairs->size(), i + 100)));
        call("POST", "runs/log-batch",
             {{"run_id", run_id}, {pairs == &params ? "params" : "tags", pairs_json(chunk)}});
      }
    }
  }

  void set_status(const std::string& run_id, const std::string& status, std::optional<int64_t> end_ms) override {
    nlohmann::json body = {{"run_id", run_id}, {"status", status}};
    if (end_ms) body["end_time"] = *end_ms;
    call("POST", "runs/update", body);
  }

  // Through the server's artifact proxy (mlflow server serves artifacts by default).
  void log_text_artifact(const std::string& run_id, const std::string& path, const std::string& text) override {
    put_artifact(run_id, path, text);
  }
  // One file at a time in memory: checkpoint shards are bounded by the writer's shard size.
  void log_file_artifact(const std::string& run_id, const std::string& path, const std::filesystem::path& file) override {
    put_artifact(run_id, path, read_file(file));
  }

 private:
  void put_artifact(const std::string& run_id, const std::string& path, std::string body) {
    auto run = call("GET", "runs/get?run_id=" + url_encode(run_id), nullptr);
    auto uri = run["run"]["info"]["artifact_uri"].get<std::string>();
    const std::string proxied = "mlflow-artifacts:/";
    AM_CHECK(uri.starts_with(proxied), "artifacts of run {} go to {}, which this build cannot write (only the "
             "server's mlflow-artifacts proxy)", run_id, uri);
    HttpRequest req = request("PUT", base_ + "/api/2.0/mlflow-artifacts/artifacts/" +
                                         uri.substr(proxied.size()) + "/" + path);
    req.body = std::move(body);
    req.timeout_s = 0;  // large files take their time; a stalled upload still ends
    req.stall_timeout_s = 60;
    auto r = http_request(req);
    AM_CHECK(r.error.empty() && r.status / 100 == 2, "PUT artifact {} to {}: {}", path, base_,
             r.error.empty() ? fmt::format("HTTP {} {}", r.status, r.body.substr(0, 300)) : r.error);
  }

  HttpRequest request(const std::string& method, const std::string& url) const {
    HttpRequest req;
    req.method = method;
    req.url = url;
    req.headers = headers_;
    if (!credentials_.empty()) req.headers.push_back("Authorization: Basic " + base64_encode(credentials_));
    req.verify_tls = verify_tls_;
    return req;
  }

  // Returns the JSON reply; null for a 404 (RESOURCE_DOES_NOT_EXIST) when `missing_ok`.
  nlohmann::json call(const std::string& method, const std::string& endpoint, const nlohmann::json& body,
                      bool missing_ok = false) {
    auto req = request(method, base_ + "/api/2.0/mlflow/" + endpoint);
    if (!body.is_null()) req.body = body.dump();
    auto r = http_request(req);
    AM_CHECK(r.error.empty(), "{} {}: {}", method, req.url, r.error);
    if (missing_ok && r.status == 404) return nullptr;
    AM_CHECK(r.status == 200, "{} {}: HTTP {} {}", method, req.url, r.status, r.body.substr(0, 500));
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    AM_CHECK(!j.is_discarded(), "{} {}: the reply is not JSON: {}", method, req.url, r.body.substr(0, 200));
    return j;
  }

  std::string base_, credentials_;
  std::vector<std::string> headers_;
  bool verify_tls_ = true;
};

}  // namespace

std::unique_ptr<MlflowStore> make_mlflow_rest_store(const std::string& uri) { return std::make_unique<RestStore>(uri); }

}  // namespace automodel::train
