#include "automodel/train/trackers/mlflow.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstdlib>
#include <regex>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/config/yaml_json.h"
#include "automodel/train/trackers/mlflow_store.h"

namespace fs = std::filesystem;

namespace automodel::train {
namespace {

constexpr size_t kMaxParamValue = 6000;  // MLflow's limit on a param value

std::string python_str(const nlohmann::json& v, bool nested = false) {
  if (v.is_string()) return nested ? "'" + v.get<std::string>() + "'" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  if (v.is_number_float()) {
    auto s = v.dump();
    return s.find_first_of(".en") == std::string::npos ? s + ".0" : s;
  }
  if (v.is_number()) return v.dump();
  std::vector<std::string> parts;
  if (v.is_array()) {
    for (const auto& e : v) parts.push_back(python_str(e, true));
    return "[" + fmt::format("{}", fmt::join(parts, ", ")) + "]";
  }
  for (const auto& [k, e] : v.items()) parts.push_back("'" + k + "': " + python_str(e, true));
  return "{" + fmt::format("{}", fmt::join(parts, ", ")) + "}";
}

void flatten_into(const nlohmann::json& tree, std::optional<int64_t> depth, int64_t level, const std::string& prefix,
                  std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& [k, v] : tree.items()) {
    auto key = prefix.empty() ? k : prefix + "." + k;
    if (v.is_object() && (!depth || level < *depth)) flatten_into(v, depth, level + 1, key, out);
    else out.emplace_back(key, python_str(v));
  }
}

// MLflow names allow letters, digits, _ - . space : /; anything else becomes _.
std::string mlflow_name(const std::string& key) {
  static const std::regex bad(R"([^\w\-. :/])");
  return std::regex_replace(key, bad, "_");
}

class MlflowSink : public MetricSink {
 public:
  MlflowSink(std::unique_ptr<MlflowStore> store, std::string run_id, bool log_final_model)
      : store_(std::move(store)), run_id_(std::move(run_id)), log_final_model_(log_final_model) {}
  std::string name() const override { return "mlflow"; }
  void log_step(const StepMetrics& m) override {
    std::vector<MlflowMetric> metrics;
    const auto now = now_ms();
    for (const auto& [k, v] : step_scalars(m)) metrics.push_back({k, v, now, m.step});
    store_->log_batch(run_id_, metrics, {}, {});
  }
  void log_validation(const ValidationMetrics& v) override {
    store_->log_batch(run_id_, {{"val_loss", v.val_loss, now_ms(), v.step}}, {}, {});
  }
  // Every file of the folder, under model/ in the run's artifacts, in a stable order.
  void final_model(const std::filesystem::path& model_dir) override {
    if (!log_final_model_) return;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(model_dir))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
      store_->log_file_artifact(run_id_, "model/" + std::filesystem::relative(f, model_dir).generic_string(), f);
    log_info("mlflow: logged {} file(s) of {} as artifacts under model/", files.size(), model_dir.string());
  }
  void finish(bool ok) override { store_->set_status(run_id_, ok ? "FINISHED" : "FAILED", now_ms()); }

 private:
  std::unique_ptr<MlflowStore> store_;
  std::string run_id_;
  bool log_final_model_;
};

std::unique_ptr<MlflowStore> open_store(const std::string& uri) {
  if (uri.starts_with("http://") || uri.starts_with("https://")) return make_mlflow_rest_store(uri);
  std::string path = uri.empty() ? "mlruns" : uri;
  if (path.starts_with("file://")) path = path.substr(7);
  else if (path.starts_with("file:")) path = path.substr(5);
  return make_mlflow_file_store(path);
}

}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::pair<std::string, std::string>> flatten_params(const nlohmann::json& tree,
                                                                std::optional<int64_t> depth) {
  std::vector<std::pair<std::string, std::string>> out;
  flatten_into(tree, depth, 0, "", out);
  return out;
}

std::unique_ptr<MetricSink> make_mlflow_sink(const config::MlflowSection& s, const nlohmann::json& recipe,
                                             const fs::path& checkpoint_dir, int64_t resume_step) {
  const std::string where = s.tracking_uri.empty() ? "./mlruns (no mlflow.tracking_uri)" : s.tracking_uri;
  std::unique_ptr<MlflowStore> store;
  std::string experiment_id;
  try {
    store = open_store(s.tracking_uri);
    experiment_id = store->experiment(s.experiment_name, s.artifact_location);
  } catch (const std::exception& e) {
    AM_FAIL("[config] mlflow.tracking_uri: cannot use the MLflow store at {}: {}", where, e.what());
  }
  // A resumed training continues its run (MLFLOW_RUN_ID, else the id saved beside the checkpoints).
  const auto sidecar = checkpoint_dir / "mlflow_run_id";
  std::string run_id;
  if (const char* env = std::getenv("MLFLOW_RUN_ID"); env && *env) run_id = env;
  else if (s.resume && resume_step > 0 && fs::exists(sidecar)) run_id = read_file(sidecar);
  while (!run_id.empty() && std::isspace(static_cast<unsigned char>(run_id.back()))) run_id.pop_back();
  if (!run_id.empty()) {
    AM_CHECK(store->run_exists(run_id), "[config] mlflow: run {} (from {}) is not in {}", run_id,
             std::getenv("MLFLOW_RUN_ID") ? "MLFLOW_RUN_ID" : sidecar.string(), where);
    store->set_status(run_id, "RUNNING", std::nullopt);
    log_info("mlflow: continuing run {} in {}", run_id, store->describe());
    return std::make_unique<MlflowSink>(std::move(store), run_id, s.log_final_model);
  }
  MlflowPairs tags;
  for (const auto& [k, v] : s.tags) tags.emplace_back(mlflow_name(k), v);
  if (!s.run_name.empty()) tags.emplace_back("mlflow.runName", s.run_name);
  if (s.description) tags.emplace_back("mlflow.note.content", *s.description);
  if (const char* user = std::getenv("USER")) tags.emplace_back("mlflow.user", user);
  tags.emplace_back("mlflow.source.name", "automodel");
  tags.emplace_back("mlflow.source.type", "LOCAL");
  run_id = store->create_run(experiment_id, s.run_name, now_ms(), tags);
  MlflowPairs params;
  for (auto& [k, v] : flatten_params(recipe, s.flatten_depth)) {
    if (v.size() > kMaxParamValue) v = v.substr(0, kMaxParamValue);
    params.emplace_back(mlflow_name(k), std::move(v));
  }
  store->log_batch(run_id, {}, params, {});
  try {
    store->log_text_artifact(run_id, "config.yaml", config::to_yaml(recipe));
  } catch (const std::exception& e) {
    log_warn("mlflow: config.yaml not stored as an artifact: {}", e.what());
  }
  std::error_code ec;
  fs::create_directories(checkpoint_dir, ec);
  write_file_atomic(sidecar, run_id);
  log_info("mlflow: run {} in experiment '{}' ({})", run_id, s.experiment_name, store->describe());
  return std::make_unique<MlflowSink>(std::move(store), run_id, s.log_final_model);
}

}  // namespace automodel::train
