// Writing a run's checkpoints with every process: the staging/commit protocol (fsdp2 ranks
// stage their own optimizer and model shards, rank 0 writes the rest into a hidden folder and
// commits it atomically, LATEST moves last), the model as an HF folder, PEFT adapter or shards,
// and model/consolidated/ gathered one unit at a time so no rank holds the whole model.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "automodel/checkpoint/training_state.h"
#include "automodel/config/recipe_config.h"
#include "automodel/dist/parallelize.h"
#include "automodel/dist/process_group.h"
#include "automodel/models/common/causal_lm.h"
#include "automodel/train/adamw.h"

namespace automodel::checkpoint {

struct CheckpointerContext {
  const config::RecipeConfig* recipe;           // checkpoint/peft sections, the recipe as run
  std::filesystem::path model_folder;           // the base model's HF folder (config, tokenizer)
  std::vector<std::string> lora_targets;        // adapted modules (LoRA runs)
  dist::ProcessGroup* group = nullptr;          // all processes; null in one process
  int rank = 0;
  int64_t world = 1;
};

class Checkpointer {
 public:
  Checkpointer(CheckpointerContext context, models::CausalLM& model, train::AdamW& optimizer,
               dist::ParallelModel& parallel);
  // Every rank calls it at the same step. Non-finite weights are never saved (LATEST stays).
  void save(const TrainingState& state, bool final_save);
  // The last checkpoint this run wrote (empty before the first).
  const std::filesystem::path& last() const { return last_; }

 private:
  bool parameters_finite();
  void write_model(const std::filesystem::path& model_dir, bool consolidated);
  void write_model_by_unit(const std::filesystem::path& model_dir, bool consolidated);

  CheckpointerContext c_;
  models::CausalLM& model_;
  train::AdamW& optimizer_;
  dist::ParallelModel& parallel_;
  std::filesystem::path last_;
};

}  // namespace automodel::checkpoint
