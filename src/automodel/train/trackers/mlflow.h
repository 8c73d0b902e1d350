// The `mlflow:` tracker, as AutoModel's MLflowConfig: a run in `experiment_name` with the
// resolved recipe as params (flattened "section.key"), config.yaml as an artifact, training.jsonl's
// scalars and val_loss as metrics per step, and FINISHED/FAILED at the end.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "automodel/config/tracker_sections.h"
#include "automodel/train/metric_sink.h"

namespace automodel::train {

// AutoModel's flatten_params_for_mlflow: nested maps split into dotted keys up to `depth`
// levels (none: all), other values as Python's str() writes them.
std::vector<std::pair<std::string, std::string>> flatten_params(const nlohmann::json& tree,
                                                                std::optional<int64_t> depth);

// Connects (or creates the store) now: an unreachable server or unwritable folder is an error at
// start naming the key. `checkpoint_dir` holds the mlflow_run_id file a resumed run continues.
std::unique_ptr<MetricSink> make_mlflow_sink(const config::MlflowSection& section, const nlohmann::json& recipe,
                                             const std::filesystem::path& checkpoint_dir, int64_t resume_step);

}  // namespace automodel::train
