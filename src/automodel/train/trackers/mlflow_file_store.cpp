// MLflow's FileStore layout, as mlflow.tracking reads a `file:` URI:
//   <root>/<experiment id>/meta.yaml            name, artifact_location, lifecycle_stage, times
//   <root>/<experiment id>/<run id>/meta.yaml   run_id, run_name, status (1 running, 3 finished, 4 failed), times
//   .../<run id>/params/<key>                   the value, no newline
//   .../<run id>/metrics/<key>                  one "timestamp_ms value step" line per point
//   .../<run id>/tags/<key>                     the value
//   .../<run id>/artifacts/                     files
#include <unistd.h>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <random>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/train/trackers/mlflow_store.h"

namespace fs = std::filesystem;

namespace automodel::train {
namespace {

std::string yaml_quoted(const std::string& s) {  // a YAML single-quoted scalar
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string random_digits(size_t n) {
  std::random_device rd;
  std::string out(1, static_cast<char>('1' + rd() % 9));
  while (out.size() < n) out += static_cast<char>('0' + rd() % 10);
  return out;
}

std::string user_name() {
  const char* u = std::getenv("USER");
  return u ? u : "unknown";
}

class FileStore : public MlflowStore {
 public:
  explicit FileStore(fs::path root) : root_(fs::absolute(std::move(root)).lexically_normal()) {
    std::error_code ec;
    const bool fresh = !fs::exists(root_, ec);
    fs::create_directories(root_, ec);
    AM_CHECK(!ec && fs::is_directory(root_), "cannot create {}: {}", root_.string(),
             ec ? ec.message() : "exists and is not a folder");
    // mlflow creates the Default experiment with a new store; so do we, so its UI finds it.
    if (fresh) write_experiment("0", "Default", "");
  }
  std::string describe() const override { return root_.string(); }

  std::string experiment(const std::string& name, const std::string& artifact_location) override {
    for (const auto& entry : fs::directory_iterator(root_)) {
      auto meta = entry.path() / "meta.yaml";
      if (!fs::is_regular_file(meta)) continue;
      auto y = YAML::LoadFile(meta.string());
      if (y["name"] && y["name"].as<std::string>() == name &&
          (!y["lifecycle_stage"] || y["lifecycle_stage"].as<std::string>() == "active"))
        return entry.path().filename().string();
    }
    auto id = random_digits(18);
    write_experiment(id, name, artifact_location);
    return id;
  }

  std::string create_run(const std::string& experiment_id, const std::string& run_name, int64_t start_ms,
                         const MlflowPairs& tags) override {
    std::random_device rd;
    std::string run_id;
    for (int i = 0; i < 4; ++i) run_id += fmt::format("{:08x}", rd());
    auto dir = root_ / experiment_id / run_id;
    for (const char* sub : {"metrics", "params", "tags", "artifacts"}) fs::create_directories(dir / sub);
    runs_[run_id] = dir;
    started_[run_id] = start_ms;
    names_[run_id] = run_name;
    experiments_[run_id] = experiment_id;
    write_run_meta(run_id, 1, std::nullopt);
    log_batch(run_id, {}, {}, tags);
    return run_id;
  }

  bool run_exists(const std::string& run_id) override {
    for (const auto& exp : fs::directory_iterator(root_)) {
      auto meta = exp.path() / run_id / "meta.yaml";
      if (!fs::is_regular_file(meta)) continue;
      auto y = YAML::LoadFile(meta.string());
      runs_[run_id] = exp.path() / run_id;
      started_[run_id] = y["start_time"].as<int64_t>(now_ms());
      names_[run_id] = y["run_name"] ? y["run_name"].as<std::string>("") : "";
      experiments_[run_id] = exp.path().filename().string();
      return true;
    }
    return false;
  }

  void log_batch(const std::string& run_id, const std::vector<MlflowMetric>& metrics, const MlflowPairs& params,
                 const MlflowPairs& tags) override {
    const auto& dir = run_dir(run_id);
    for (const auto& m : metrics) {
      std::ofstream out(dir / "metrics" / m.key, std::ios::app);
      out << fmt::format("{} {} {}\n", m.timestamp_ms, m.value, m.step);
      AM_CHECK(out.flush().good(), "cannot write {}", (dir / "metrics" / m.key).string());
    }
    for (const auto& [k, v] : params) write_file_atomic(dir / "params" / k, v);
    for (const auto& [k, v] : tags) write_file_atomic(dir / "tags" / k, v);
  }

  void set_status(const std::string& run_id, const std::string& status, std::optional<int64_t> end_ms) override {
    int code = status == "RUNNING" ? 1 : status == "FINISHED" ? 3 : status == "FAILED" ? 4 : 5;
    write_run_meta(run_id, code, end_ms);
  }

  void log_text_artifact(const std::string& run_id, const std::string& path, const std::string& text) override {
    write_file_atomic(run_dir(run_id) / "artifacts" / path, text);
  }
  void log_file_artifact(const std::string& run_id, const std::string& path, const fs::path& file) override {
    const auto target = run_dir(run_id) / "artifacts" / path;
    fs::create_directories(target.parent_path());
    fs::copy_file(file, target, fs::copy_options::overwrite_existing);
  }

 private:
  const fs::path& run_dir(const std::string& run_id) {
    auto it = runs_.find(run_id);
    AM_CHECK(it != runs_.end(), "no run {} in {}", run_id, root_.string());
    return it->second;
  }

  void write_experiment(const std::string& id, const std::string& name, const std::string& artifact_location) {
    auto now = now_ms();
    auto location = artifact_location.empty() ? "file://" + (root_ / id).string() : artifact_location;
    fs::create_directories(root_ / id);
    write_file_atomic(root_ / id / "meta.yaml",
                      fmt::format("artifact_location: {}\ncreation_time: {}\nexperiment_id: {}\nlast_update_time: {}\n"
                                  "lifecycle_stage: active\nname: {}\n",
                                  yaml_quoted(location), now, yaml_quoted(id), now, yaml_quoted(name)));
  }

  void write_run_meta(const std::string& run_id, int status, std::optional<int64_t> end_ms) {
    const auto& dir = run_dir(run_id);
    write_file_atomic(dir / "meta.yaml",
                      fmt::format("artifact_uri: {}\nend_time: {}\nentry_point_name: ''\nexperiment_id: {}\n"
                                  "lifecycle_stage: active\nrun_id: {}\nrun_name: {}\nrun_uuid: {}\nsource_name: ''\n"
                                  "source_type: 4\nsource_version: ''\nstart_time: {}\nstatus: {}\ntags: []\n"
                                  "user_id: {}\n",
                                  yaml_quoted("file://" + (dir / "artifacts").string()),
                                  end_ms ? std::to_string(*end_ms) : "null", yaml_quoted(experiments_[run_id]), run_id,
                                  yaml_quoted(names_[run_id]), run_id, started_[run_id], status, yaml_quoted(user_name())));
  }

  fs::path root_;
  std::map<std::string, fs::path> runs_;
  std::map<std::string, int64_t> started_;
  std::map<std::string, std::string> names_, experiments_;
};

}  // namespace

std::unique_ptr<MlflowStore> make_mlflow_file_store(const fs::path& root) { return std::make_unique<FileStore>(root); }

}  // namespace automodel::train
