#include "automodel/train/trackers/wandb_online.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "automodel/common/base64.h"
#include "automodel/common/error.h"
#include "automodel/common/http.h"
#include "automodel/common/logging.h"

namespace automodel::train {
namespace {

// The fields of W&B's public GraphQL schema a run needs (modelName is the project, entityName the
// team or user; a null entity is the key owner's default).
constexpr const char* kUpsertRun = R"(mutation UpsertBucket($name: String, $project: String, $entity: String,
  $groupName: String, $displayName: String, $notes: String, $config: JSONString, $host: String,
  $jobType: String, $tags: [String!]) {
  upsertBucket(input: {name: $name, modelName: $project, entityName: $entity, groupName: $groupName,
                       displayName: $displayName, notes: $notes, config: $config, host: $host,
                       jobType: $jobType, tags: $tags}) {
    bucket { id name historyLineCount project { name entity { name } } }
    inserted
  }
})";

constexpr auto kStreamEvery = std::chrono::seconds(5);

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }

}  // namespace

WandbOnlineRun::WandbOnlineRun(std::string base_url, std::string api_key, const wandb_record::RunInfo& info)
    : base_url_(std::move(base_url)), api_key_(std::move(api_key)), run_id_(info.run_id) {
  while (base_url_.ends_with('/')) base_url_.pop_back();
  nlohmann::json config = nlohmann::json::object();
  for (const auto& [key, value] : info.config) config[key] = {{"value", nlohmann::json::parse(value)}};
  const nlohmann::json request = {
      {"query", kUpsertRun},
      {"operationName", "UpsertBucket"},
      {"variables",
       {{"name", info.run_id}, {"project", or_null(info.project)}, {"entity", or_null(info.entity)},
        {"groupName", or_null(info.group)}, {"displayName", or_null(info.display_name)},
        {"notes", or_null(info.notes)}, {"config", config.dump()}, {"host", or_null(info.host)},
        {"jobType", or_null(info.job_type)}, {"tags", info.tags}}}};
  HttpRequest req;
  req.method = "POST";
  req.url = base_url_ + "/graphql";
  req.body = request.dump();
  req.headers = {"Authorization: Basic " + base64_encode("api:" + api_key_)};
  auto r = http_with_retries([&] { return http_request(req); }, 3, "W&B run " + run_id_);
  AM_CHECK(r.error.empty(), "wandb: cannot reach W&B at {} ($WANDB_BASE_URL): {} (without network access: wandb.mode: "
           "offline, then `wandb sync` from a machine that has it)", base_url_, r.error);
  AM_CHECK(r.status != 401 && r.status != 403, "wandb: W&B at {} rejected WANDB_API_KEY (HTTP {}): {}", base_url_,
           r.status, r.body.substr(0, 300));
  AM_CHECK(r.status == 200, "wandb: creating run {} at {}: HTTP {} {}", run_id_, req.url, r.status,
           r.body.substr(0, 300));
  auto reply = nlohmann::json::parse(r.body, nullptr, false);
  AM_CHECK(!reply.is_discarded() && reply.contains("data") && reply["data"].value("upsertBucket", nlohmann::json()).is_object(),
           "wandb: creating run {} at {}: unexpected reply {}", run_id_, req.url, r.body.substr(0, 300));
  const auto& bucket = reply["data"]["upsertBucket"]["bucket"];
  project_ = bucket["project"]["name"].get<std::string>();
  entity_ = bucket["project"]["entity"]["name"].get<std::string>();
  if (bucket.contains("historyLineCount") && bucket["historyLineCount"].is_number_integer())
    history_offset_ = bucket["historyLineCount"].get<int64_t>();
  last_sent_ = std::chrono::steady_clock::now();
}

std::string WandbOnlineRun::page() const {
  const auto app = base_url_ == "https://api.wandb.ai" ? std::string("https://wandb.ai") : base_url_;
  return fmt::format("{}/{}/{}/runs/{}", app, entity_, project_, run_id_);
}

void WandbOnlineRun::add_history(std::string row_json) {
  pending_.push_back(std::move(row_json));
  if (std::chrono::steady_clock::now() - last_sent_ >= kStreamEvery) stream(false, 0);
}

void WandbOnlineRun::set_summary(std::string summary_json) { summary_ = std::move(summary_json); }

bool WandbOnlineRun::finish(int exit_code) { return stream(true, exit_code); }

bool WandbOnlineRun::stream(bool complete, int exit_code) {
  last_sent_ = std::chrono::steady_clock::now();
  nlohmann::json files = nlohmann::json::object();
  if (!pending_.empty()) files["wandb-history.jsonl"] = {{"offset", history_offset_}, {"content", pending_}};
  if (!summary_.empty()) files["wandb-summary.json"] = {{"offset", 0}, {"content", {summary_}}};
  nlohmann::json body = {{"files", files}};
  if (complete) body.update({{"complete", true}, {"exitcode", exit_code}});
  HttpRequest req;
  req.method = "POST";
  req.url = fmt::format("{}/files/{}/{}/{}/file_stream", base_url_, url_encode(entity_), url_encode(project_),
                        url_encode(run_id_));
  req.body = body.dump();
  req.headers = {"Authorization: Basic " + base64_encode("api:" + api_key_)};
  auto r = http_with_retries([&] { return http_request(req); }, complete ? 4 : 2, "W&B run " + run_id_);
  if (r.error.empty() && r.status / 100 == 2) {
    history_offset_ += static_cast<int64_t>(pending_.size());
    pending_.clear();
    return true;
  }
  if (!warned_ || complete)
    log_warn("wandb: streaming run {} to {} failed ({}); kept for the next try, and the local run folder has "
             "everything for `wandb sync`", run_id_, base_url_,
             r.error.empty() ? fmt::format("HTTP {} {}", r.status, r.body.substr(0, 200)) : r.error);
  warned_ = true;
  return false;
}

}  // namespace automodel::train
