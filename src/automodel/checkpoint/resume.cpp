#include "automodel/checkpoint/resume.h"

#include <ATen/core/grad_mode.h>

#include "automodel/checkpoint/flat_shards.h"
#include "automodel/checkpoint/run_dir.h"
#include "automodel/common/error.h"
#include "automodel/dist/fsdp.h"
#include "automodel/peft/lora.h"

namespace fs = std::filesystem;

namespace automodel::checkpoint {

std::optional<fs::path> resume_point(const config::CheckpointSection& section) {
  if (!section.restore_from.empty() && section.restore_from != "LATEST") {
    fs::path dir(section.restore_from);
    AM_CHECK(fs::is_directory(dir), "[checkpoint] checkpoint.restore_from {} is not a folder", dir.string());
    return dir;
  }
  if (section.enabled) return latest_checkpoint(section.checkpoint_dir);
  return std::nullopt;
}

bool holds_model_shards(const fs::path& ckpt) { return fs::exists(ckpt / "model" / "fsdp_shard_rank0.safetensors"); }

void load_whole_model(models::CausalLM& model, const fs::path& ckpt, bool peft) {
  auto model_dir = ckpt / "model";
  if (peft)
    peft::load_adapter_weights(model, model_dir / peft::kAdapterWeightsFile);
  else
    load_parameters(model, model_dir, "", "");
}

void load_model_shards(models::CausalLM& model, dist::ParallelModel& parallel, const fs::path& ckpt, int64_t dp_size,
                       int64_t dp_rank) {
  FlatShardFiles files(ckpt / "model", "fsdp_shard", saved_shard_count(ckpt));
  if (auto* fsdp = parallel.sharded()) {
    std::vector<std::pair<std::string, at::Tensor>> shards;
    for (const auto& [name, _] : fsdp->shard_state())
      shards.emplace_back(name, files.slice(name, fsdp->numel_of(name), dp_size, dp_rank));
    fsdp->load_shard_state(shards);
    return;
  }
  at::NoGradGuard no_grad;
  for (const auto& p : model.named_parameters())
    if (files.contains(p.name)) p.tensor->copy_(files.slice(p.name, p.tensor->numel(), 1, 0).view(p.tensor->sizes()));
}

int64_t rescaled_batch_index(const TrainingState& saved, int64_t local_batch_size, const std::string& where) {
  if (saved.local_batch_size <= 0 || saved.local_batch_size == local_batch_size) return saved.batch;
  const int64_t rows = saved.batch * saved.local_batch_size;
  AM_CHECK(rows % local_batch_size == 0, "[checkpoint] {} stopped after {} rows of epoch {}, not a multiple of "
           "step_scheduler.local_batch_size {}", where, rows, saved.epoch, local_batch_size);
  return rows / local_batch_size;
}

TrainingState load_resumed_state(const fs::path& ckpt, train::AdamW& optimizer, dist::ParallelModel& parallel,
                                  int64_t world, int rank, int64_t local_batch_size) {
  ShardLayout layout;
  layout.rank = rank;
  if (auto* fsdp = parallel.sharded()) {
    layout.world = world;
    layout.numel = [fsdp](const std::string& name) { return fsdp->numel_of(name); };
  }
  auto state = load_training_state(ckpt, optimizer, layout);
  state.batch = rescaled_batch_index(state, local_batch_size, ckpt.string());
  state.local_batch_size = local_batch_size;
  return state;
}

}  // namespace automodel::checkpoint
