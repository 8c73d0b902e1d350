#include "automodel/checkpoint/checkpointer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/tensor.h>

#include <optional>

#include "automodel/checkpoint/hf_export.h"
#include "automodel/checkpoint/run_dir.h"
#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/dist/fsdp.h"
#include "automodel/models/common/weights.h"
#include "automodel/peft/lora.h"

namespace fs = std::filesystem;

namespace automodel::checkpoint {

Checkpointer::Checkpointer(CheckpointerContext context, models::CausalLM& model, train::AdamW& optimizer,
                           dist::ParallelModel& parallel)
    : c_(std::move(context)), model_(model), optimizer_(optimizer), parallel_(parallel) {}

bool Checkpointer::parameters_finite() {
  double bad = 0;
  for (const auto& p : optimizer_.params()) bad += at::isfinite(*p.tensor).all().item<bool>() ? 0 : 1;
  if (c_.group) {
    auto t = at::tensor({bad}, at::kDouble);
    c_.group->all_reduce_sum(t);
    bad = t.item<double>();
  }
  return bad == 0;
}

void Checkpointer::save(const TrainingState& state, bool final_save) {
  const auto& recipe = *c_.recipe;
  // An update can overflow (an infinite lr, say): such weights are never saved; LATEST stays.
  AM_CHECK(parameters_finite(), "[train] step {}: the updated weights are not finite; not saving them (LATEST stays "
           "at {}); lower optimizer.lr", state.step, last_.empty() ? "none" : last_.string());
  auto name = checkpoint_name(state.epoch, state.step);
  std::vector<at::Tensor> rank_rng;
  if (c_.group) rank_rng = c_.group->all_gather(at::detail::getDefaultCPUGenerator().get_state());
  const fs::path ckpt_dir = recipe.checkpoint.checkpoint_dir;
  const auto when = recipe.checkpoint.save_consolidated;
  const bool consolidated =
      when == config::ConsolidatedSaves::kEvery || (final_save && when == config::ConsolidatedSaves::kFinal);
  const bool peft = recipe.peft.enabled;
  auto* fsdp = parallel_.sharded();
  // fsdp2: every rank writes its optimizer shard to a staging folder that rank 0 moves into the
  // checkpoint before the atomic rename.
  auto staging = [&](int64_t rank) { return ckpt_dir / fmt::format(".{}.optimizer_rank{}", name, rank); };
  if (fsdp) {
    fs::create_directories(staging(c_.rank));
    models::save_tensors(optimizer_.state(), staging(c_.rank), ~0ull, "optimizer");
    if (!peft) models::save_tensors(fsdp->shard_state(), staging(c_.rank), ~0ull, "model_shard");
  }
  if (c_.group) c_.group->barrier();
  // Rank 0 writes the checkpoint; the others take part in the gathers it writes from, then wait.
  if (c_.rank != 0) {
    if (fsdp && (peft || consolidated)) fsdp->for_each_unit([](const auto&) {});
    c_.group->barrier();
    last_ = ckpt_dir / name;
    return;
  }
  last_ = commit_checkpoint(ckpt_dir, name, [&](const fs::path& dir) {
    auto model_dir = dir / "model";
    fs::create_directories(model_dir);
    if (fsdp)
      write_model_by_unit(model_dir, consolidated);
    else
      write_model(model_dir, consolidated);
    // model/ of a full fine-tune is an HF folder of the fp32 master weights.
    if (!peft && !fsdp) write_hf_metadata(c_.model_folder, model_dir, at::kFloat);
    save_training_state(dir, state, optimizer_, recipe.tree, rank_rng, fsdp != nullptr, c_.world);
    if (fsdp)
      for (int64_t r = 0; r < c_.world; ++r) {
        fs::rename(staging(r) / "optimizer.safetensors", dir / "optim" / fmt::format("optimizer_rank{}.safetensors", r));
        if (!peft)
          fs::rename(staging(r) / "model_shard.safetensors", model_dir / fmt::format("fsdp_shard_rank{}.safetensors", r));
        fs::remove_all(staging(r));
      }
  });
  if (c_.group) c_.group->barrier();
  log_info("saved checkpoint {}", last_.string());
}

void Checkpointer::write_model(const fs::path& model_dir, bool consolidated) {
  const auto& recipe = *c_.recipe;
  if (recipe.peft.enabled)
    peft::save_adapter(model_, recipe.peft, c_.lora_targets, recipe.model.name_or_path, model_dir);
  else
    models::save_weights(model_, model_dir);  // fp32 masters: what a resume continues from
  if (consolidated) {
    HfFolderWriter out(c_.model_folder, model_dir / "consolidated");
    out.carry_foreign_tensors(model_);
    out.write(models::hf_state_dict(model_));
    out.commit();
  }
}

// fsdp2: model/ holds each rank's own shard (written by that rank, as the optimizer state) or
// the LoRA adapter (small: collected unit by unit); consolidated/ is written one gathered unit at
// a time, one safetensors shard per unit (+ index), so no rank ever holds the whole model.
void Checkpointer::write_model_by_unit(const fs::path& model_dir, bool consolidated) {
  const auto& recipe = *c_.recipe;
  const bool peft = recipe.peft.enabled;
  if (!peft && !consolidated) return;
  auto& fsdp = *parallel_.sharded();
  std::optional<HfFolderWriter> merged;
  if (consolidated) {
    merged.emplace(c_.model_folder, model_dir / "consolidated");
    merged->carry_foreign_tensors(model_);
    merged->begin_shards(fsdp.num_units());
  }
  std::vector<std::pair<std::string, at::Tensor>> adapter;
  fsdp.for_each_unit([&](const std::function<bool(const std::string&)>& in_unit) {
    if (merged) merged->write_shard(models::hf_state_dict(model_, in_unit));
    if (peft)
      for (auto& [key, tensor] : peft::adapter_tensors(model_))
        if (in_unit(peft::module_of_adapter_key(key))) adapter.emplace_back(key, tensor.clone());
  });
  if (merged) merged->commit();
  if (peft)
    peft::save_adapter(adapter, recipe.peft, c_.lora_targets, recipe.model.name_or_path, model_dir,
                       peft::adapter_layout(model_));
}

}  // namespace automodel::checkpoint
