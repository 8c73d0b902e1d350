// Where an MLflow run is recorded: MLflow's local file store layout (mlruns/) or a tracking
// server's REST API. The calls mirror the REST API's, so the sink does not care which.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace automodel::train {

struct MlflowMetric {
  std::string key;
  double value = 0;
  int64_t timestamp_ms = 0, step = 0;
};
using MlflowPairs = std::vector<std::pair<std::string, std::string>>;

class MlflowStore {
 public:
  virtual ~MlflowStore() = default;
  virtual std::string describe() const = 0;  // the URI or folder, for messages
  // The id of the active experiment named `name`, created when there is none.
  virtual std::string experiment(const std::string& name, const std::string& artifact_location) = 0;
  virtual std::string create_run(const std::string& experiment_id, const std::string& run_name, int64_t start_ms,
                                 const MlflowPairs& tags) = 0;
  virtual bool run_exists(const std::string& run_id) = 0;
  virtual void log_batch(const std::string& run_id, const std::vector<MlflowMetric>& metrics,
                         const MlflowPairs& params, const MlflowPairs& tags) = 0;
  // status: RUNNING, FINISHED, FAILED or KILLED.
  virtual void set_status(const std::string& run_id, const std::string& status, std::optional<int64_t> end_ms) = 0;
  // A text file in the run's artifacts (the file store writes it; servers: best effort).
  virtual void log_text_artifact(const std::string& run_id, const std::string& path, const std::string& text) = 0;
  // A file in the run's artifacts under `path` (file store: copied; server: uploaded).
  virtual void log_file_artifact(const std::string& run_id, const std::string& path,
                                 const std::filesystem::path& file) = 0;
};

std::unique_ptr<MlflowStore> make_mlflow_file_store(const std::filesystem::path& root);
// `uri`: http(s)://host[:port][/prefix]. Credentials from MLFLOW_TRACKING_TOKEN or
// MLFLOW_TRACKING_USERNAME/PASSWORD, as the Python client.
std::unique_ptr<MlflowStore> make_mlflow_rest_store(const std::string& uri);

int64_t now_ms();

}  // namespace automodel::train
