// Experiment tracker sections of a recipe (`tensorboard:`, `mlflow:`, `wandb:`), typed. A section that is
// present (even empty) turns its tracker on; rank 0 writes.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

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
  bool log_final_model = false;  // the final checkpoint's model/ folder as artifacts under model/
};

// AutoModel's WandbConfig keys plus the wandb.init() arguments it forwards (mode, dir, id,
// job_type). Runs are written offline for `wandb sync`, or streamed online with WANDB_API_KEY.
struct WandbSection {
  std::string project = "automodel";
  std::string entity;  // the key, else $WANDB_ENTITY, else none (the syncing user's default)
  std::string name;    // default: the model path's last two parts joined by "_", as AutoModel
  std::string group, notes, job_type;
  std::vector<std::string> tags;
  std::string id;    // run id; default: the resumed run's (<checkpoint_dir>/wandb_run_id) or a new one
  std::string dir;   // dir (or Lightning's save_dir), else $WANDB_DIR, else "."; runs go to dir/wandb/
  std::string mode;  // resolved: "offline" or "online" (the key, else $WANDB_MODE, else by $WANDB_API_KEY)
};

// Reads the section's keys (recorded as read for the "no effect" report); call it when the
// recipe has the section.
TensorBoardSection parse_tensorboard(const hf::JsonFields& root, const std::string& checkpoint_dir);
// `body`: the raw section (an explicit `flatten_depth: null` means fully flattened).
MlflowSection parse_mlflow(const hf::JsonFields& root, const nlohmann::json& body);
// None when the section turns W&B off (`enable: false` or `mode: disabled`). `model_name`: the
// model's name_or_path, for the default run name.
std::optional<WandbSection> parse_wandb(const hf::JsonFields& root, const std::string& model_name);

}  // namespace automodel::config
