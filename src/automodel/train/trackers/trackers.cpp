#include "automodel/train/trackers/trackers.h"

#include "automodel/config/recipe_config.h"
#include "automodel/train/trackers/mlflow.h"
#include "automodel/train/trackers/tensorboard.h"
#include "automodel/train/trackers/wandb.h"

namespace automodel::train {

std::vector<std::unique_ptr<MetricSink>> make_trackers(const config::RecipeConfig& c, int64_t resume_step) {
  std::vector<std::unique_ptr<MetricSink>> sinks;
  if (c.tensorboard) sinks.push_back(make_tensorboard_sink(*c.tensorboard, resume_step));
  if (c.mlflow) sinks.push_back(make_mlflow_sink(*c.mlflow, c.tree, c.checkpoint.checkpoint_dir, resume_step));
  if (c.wandb) sinks.push_back(make_wandb_sink(*c.wandb, c.tree, c.checkpoint.checkpoint_dir, resume_step));
  return sinks;
}

}  // namespace automodel::train
