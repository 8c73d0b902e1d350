// Where a run resumes from and how: the checkpoint to read (restore_from, else LATEST), the
// model state it holds (whole weights, a LoRA adapter or fsdp2 shards of any process count),
// and the data position re-scaled when the local batch size changed with the process count.
#pragma once

#include <filesystem>
#include <optional>

#include "automodel/checkpoint/training_state.h"
#include "automodel/config/recipe_config.h"
#include "automodel/dist/parallelize.h"
#include "automodel/models/common/causal_lm.h"
#include "automodel/train/adamw.h"

namespace automodel::checkpoint {

// checkpoint.restore_from (a folder, or "LATEST"), else LATEST when checkpointing is on.
std::optional<std::filesystem::path> resume_point(const config::CheckpointSection& section);

// Whether `ckpt` holds fsdp2 model shards (a full fine-tune under fsdp2) rather than an HF
// folder or an adapter: they are read after parallelize(), the others before.
bool holds_model_shards(const std::filesystem::path& ckpt);

// The whole model's weights (or adapter) from `ckpt`, before parallelize().
void load_whole_model(models::CausalLM& model, const std::filesystem::path& ckpt, bool peft);
// fsdp2 shards saved by any number of processes, re-sliced for this run's data-parallel ranks
// (or whole into the model when this run does not shard), after parallelize().
void load_model_shards(models::CausalLM& model, dist::ParallelModel& parallel, const std::filesystem::path& ckpt,
                       int64_t dp_size, int64_t dp_rank);

// The next batch index of the epoch for `local_batch_size`, when the checkpoint was saved with
// another one (another process count at the same global batch): the same rows are done.
int64_t rescaled_batch_index(const TrainingState& saved, int64_t local_batch_size, const std::string& where);

// Optimizer, RNG and data position of `ckpt` for this rank, with the batch index re-scaled.
TrainingState load_resumed_state(const std::filesystem::path& ckpt, train::AdamW& optimizer,
                                 dist::ParallelModel& parallel, int64_t world, int rank, int64_t local_batch_size);

}  // namespace automodel::checkpoint
