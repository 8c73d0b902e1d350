// The experiment trackers a recipe turns on (its tensorboard/mlflow/wandb sections), built at start so
// that bad settings are errors before training.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "automodel/train/metric_sink.h"

namespace automodel::config {
struct RecipeConfig;
}

namespace automodel::train {

// For rank 0 only. `resume_step` > 0 when the run continues from a checkpoint.
std::vector<std::unique_ptr<MetricSink>> make_trackers(const config::RecipeConfig& c, int64_t resume_step);

}  // namespace automodel::train
