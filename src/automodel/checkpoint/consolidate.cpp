#include "automodel/checkpoint/consolidate.h"

#include "automodel/checkpoint/flat_shards.h"
#include "automodel/checkpoint/hf_export.h"
#include "automodel/checkpoint/run_dir.h"
#include "automodel/checkpoint/training_state.h"
#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/config/yaml_json.h"
#include "automodel/hf/model_source.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "automodel/peft/lora.h"

namespace fs = std::filesystem;

namespace automodel::checkpoint {
namespace {

constexpr uint64_t kJoinGroupBytes = 2ull << 30;  // fp32 bytes per shard: also what one step holds in memory

// The model the run started from, as its config.yaml names it.
fs::path base_model_of(const fs::path& checkpoint) {
  auto recipe = config::load_yaml_file(checkpoint / "config.yaml");
  AM_CHECK(recipe.contains("model") && recipe["model"].contains("pretrained_model_name_or_path") &&
               recipe["model"]["pretrained_model_name_or_path"].is_string(),
           "[consolidate] {}: no model.pretrained_model_name_or_path", (checkpoint / "config.yaml").string());
  const auto& model = recipe["model"];
  const auto revision = model.contains("revision") && model["revision"].is_string() ? model["revision"].get<std::string>() : "main";
  return hf::resolve_model_folder(model["pretrained_model_name_or_path"].get<std::string>(), revision);
}

// fsdp2 slices of every trainable tensor, joined in groups of at most kJoinGroupBytes (fp32, as
// training holds them); shapes come from the base model's checkpoint.
void join_fsdp_slices(const fs::path& checkpoint, const fs::path& base, HfFolderWriter& out) {
  FlatShardFiles slices(checkpoint / "model", "fsdp_shard", saved_shard_count(checkpoint));
  auto base_weights = hf::SafetensorsCheckpoint::open(base);
  std::vector<std::vector<std::pair<std::string, std::vector<int64_t>>>> groups(1);
  uint64_t bytes = 0;
  for (const auto& name : slices.names()) {
    AM_CHECK(base_weights.contains(name), "[consolidate] '{}' of {} is not in the base model {}", name,
             checkpoint.string(), base.string());
    auto shape = base_weights.get(name).entry->shape;
    uint64_t size = 4;
    for (auto d : shape) size *= static_cast<uint64_t>(d);
    if (bytes > 0 && bytes + size > kJoinGroupBytes) {
      groups.emplace_back();
      bytes = 0;
    }
    groups.back().emplace_back(name, shape);
    bytes += size;
  }
  out.carry_foreign_tensors(*models::build_layout(base));
  out.begin_shards(groups.size());
  for (const auto& group : groups) {
    NamedTensors tensors;
    for (const auto& [name, shape] : group) {
      int64_t numel = 1;
      for (auto d : shape) numel *= d;
      tensors.emplace_back(name, slices.slice(name, numel, 1, 0).view(shape));
    }
    out.write_shard(std::move(tensors));
  }
}

// The base loaded in the export dtype (read-only: merged weights are new tensors) with the
// adapter folded in: LoRA factors stay fp32, so each weight is W + scale * B A in fp32, rounded once.
void merge_adapter(const fs::path& base, const fs::path& adapter, HfFolderWriter& out) {
  models::LoadOptions load;
  load.dtype = out.dtype();
  load.read_only_weights = true;
  auto model = models::load_pretrained(base.string(), load);
  peft::load_adapter(*model, adapter);
  out.carry_foreign_tensors(*model);
  out.write(models::hf_state_dict(*model));
}

}  // namespace

fs::path consolidate_checkpoint(const fs::path& checkpoint, const fs::path& out_arg) {
  AM_CHECK(fs::is_directory(checkpoint / "model"), "[consolidate] {} is not a training checkpoint (no model/ folder)",
           checkpoint.string());
  const fs::path out = out_arg.empty() ? checkpoint / "model" / "consolidated" : out_arg;
  AM_CHECK(!fs::exists(out), "[consolidate] {} exists already; remove it or choose another --out", out.string());
  const auto base = base_model_of(checkpoint);
  const auto model_dir = checkpoint / "model";
  HfFolderWriter writer(base, out);
  if (fs::exists(model_dir / "fsdp_shard_rank0.safetensors")) {
    join_fsdp_slices(checkpoint, base, writer);
  } else if (fs::exists(model_dir / peft::kAdapterWeightsFile)) {
    merge_adapter(base, model_dir, writer);
  } else {
    AM_FAIL("[consolidate] {} holds neither fsdp2 slices nor a LoRA adapter: it is already a Hugging Face folder",
            model_dir.string());
  }
  writer.commit();
  log_info("consolidated {} into {} (base model {})", checkpoint.string(), out.string(), base.string());
  return out;
}

fs::path merge_lora(const fs::path& base, const fs::path& adapter, const fs::path& out) {
  HfFolderWriter writer(base, out);
  merge_adapter(base, adapter, writer);
  writer.commit();
  log_info("merged {} into {}: wrote {}", adapter.string(), base.string(), out.string());
  return out;
}

}  // namespace automodel::checkpoint
