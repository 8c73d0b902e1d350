// Everything besides model weights that an exact resume needs: step/epoch, the dataloader's
// position, optimizer moments, RNG state, and the recipe as run (config.yaml).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "automodel/hf/model_config.h"
#include "automodel/models/common/causal_lm.h"
#include "automodel/train/adamw.h"

namespace automodel::checkpoint {

struct TrainingState {
  int64_t step = 0;   // optimizer steps done
  int64_t epoch = 0;  // epoch of the next batch
  int64_t batch = 0;  // next batch index within the epoch
  int64_t local_batch_size = 0;  // rows per batch index (0: not saved, older checkpoints)
};

// How this run holds the optimizer's parameters: whole (world 1), or as flat slices over `world`
// ranks (fsdp2; `numel` gives a parameter's full element count).
struct ShardLayout {
  int64_t world = 1;
  int rank = 0;  // this process: its RNG state, and its slices when world > 1
  std::function<int64_t(const std::string&)> numel;
};

// `rank_rng`: every rank's CPU generator state (multi-process runs), saved as "cpu.rank<r>".
// `sharded_optimizer`: each rank's moments are written by the caller as
// optim/optimizer_rank<r>.safetensors (fsdp2) instead of one optim/optimizer.safetensors.
void save_training_state(const std::filesystem::path& dir, const TrainingState& state, const train::AdamW& optimizer,
                         const nlohmann::json& recipe, const std::vector<at::Tensor>& rank_rng = {},
                         bool sharded_optimizer = false, int64_t world_size = 1);
// Restores this rank's generator (its own entry when saved, else rank 0's) and optimizer state
// in `layout`, whatever the number of processes and sharding it was saved with.
TrainingState load_training_state(const std::filesystem::path& dir, train::AdamW& optimizer,
                                  const ShardLayout& layout = {});

// The number of processes whose flat shards (fsdp2) checkpoint `dir` holds; 1: whole tensors.
int64_t saved_shard_count(const std::filesystem::path& dir);

// Copies `file_prefix + name` from a safetensors file/folder into every parameter whose name
// contains `filter` ("" = all), in place (keeping requires_grad). Missing tensors are errors.
void load_parameters(models::CausalLM& model, const std::filesystem::path& path, const std::string& file_prefix,
                     const std::string& filter);

}  // namespace automodel::checkpoint
