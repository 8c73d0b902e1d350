// Experiment tracker sections of a recipe (`tensorboard:`, `mlflow:`), typed. A section that is
// present (even empty) turns its tracker on; rank 0 writes.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace automodel::hf {
class JsonFields;
}

namespace automodel::config {

// AutoModel 0.7 has no tensorboard section; the keys are Lightning's TensorBoardLogger's
// (events go to log_dir/name/).
struct TensorBoardSection {
  std::string log_dir;  // default: <checkpoint_dir>/tensorboard
  std::string name;     // optional sub-folder, one per run to compare several
};

// AutoModel's MLflowConfig keys. Runs go to an MLflow server (http(s) tracking_uri) or to a local
// file store (file: URI or none: ./mlruns).
struct MlflowSection {
  std::string experiment_name = "automodel-experiment";
  std::string run_name;
  std::string tracking_uri;  // the key, else $MLFLOW_TRACKING_URI, else "" (./mlruns)
  std::string artifact_location;  // for a new experiment; default: the store's
  std::map<std::string, std::string> tags;
  bool resume = true;  // a resumed training continues the run named in <checkpoint_dir>/mlflow_run_id
  std::optional<std::string> description;  // the mlflow.note.content tag
  std::optional<int64_t> flatten_depth = 1;  // params: nesting levels split into keys; none = all
};

// Reads the section's keys (recorded as read for the "no effect" report); call it when the
// recipe has the section.
TensorBoardSection parse_tensorboard(const hf::JsonFields& root, const std::string& checkpoint_dir);
// `body`: the raw section (an explicit `flatten_depth: null` means fully flattened).
MlflowSection parse_mlflow(const hf::JsonFields& root, const nlohmann::json& body);

}  // namespace automodel::config
