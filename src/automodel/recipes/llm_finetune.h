// The LLM fine-tuning recipe (AutoModel's TrainFinetuneRecipeForNextTokenPrediction): model +
// optional LoRA, datasets, step loop with gradient accumulation, validation, checkpoints and
// exact resume, wired from a RecipeConfig.
#pragma once

#include "automodel/config/recipe_config.h"
#include "automodel/recipes/summary.h"

namespace automodel::recipes {

FinetuneSummary run_llm_finetune(const config::RecipeConfig& config);

}  // namespace automodel::recipes
