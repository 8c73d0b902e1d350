// The LLM fine-tuning recipe (AutoModel's TrainFinetuneRecipeForNextTokenPrediction): model +
// optional LoRA, datasets, step loop with gradient accumulation, validation, checkpoints and
// exact resume, wired from a RecipeConfig.
#pragma once

#include <filesystem>
#include <vector>

#include "automodel/config/recipe_config.h"

namespace automodel::recipes {

struct FinetuneSummary {
  int64_t steps = 0;
  std::vector<double> losses;      // per optimizer step run in this process
  std::vector<double> val_losses;  // per validation
  std::filesystem::path last_checkpoint;
  bool preempted = false;  // stopped early on the preemption signal (exit 0)
  int stop_signal = 0;     // stopped early on SIGTERM/SIGINT (the process exits 128 + signal)
};

FinetuneSummary run_llm_finetune(const config::RecipeConfig& config);

}  // namespace automodel::recipes
