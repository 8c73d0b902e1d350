#include "automodel/checkpoint/consolidate.h"

#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "automodel/checkpoint/flat_shards.h"
#include "automodel/checkpoint/run_dir.h"
#include "automodel/checkpoint/training_state.h"
#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/common/torch_util.h"
#include "automodel/config/yaml_json.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/model_source.h"
#include "automodel/hf/safetensors.h"
#include "automodel/hf/safetensors_writer.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "automodel/peft/lora.h"

namespace fs = std::filesystem;

namespace automodel::checkpoint {
namespace {

constexpr uint64_t kMaxShardBytes = 2ull << 30;  // also what one step holds in memory

// The model the run started from, as its config.yaml names it.
fs::path base_model_of(const fs::path& checkpoint) {
  auto recipe = config::load_yaml_file(checkpoint / "config.yaml");
  AM_CHECK(recipe.contains("model") && recipe["model"].contains("pretrained_model_name_or_path") &&
               recipe["model"]["pretrained_model_name_or_path"].is_string(),
           "[consolidate] {}: no model.pretrained_model_name_or_path", (checkpoint / "config.yaml").string());
  return hf::resolve_model_folder(recipe["model"]["pretrained_model_name_or_path"].get<std::string>());
}

// fsdp2 slices of every trainable tensor, joined in groups of at most kMaxShardBytes (fp32, as
// training holds them); shapes come from the base model's checkpoint.
void join_fsdp_slices(const fs::path& checkpoint, const fs::path& base, const fs::path& out, at::ScalarType dtype) {
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
    if (bytes > 0 && bytes + size > kMaxShardBytes) {
      groups.emplace_back();
      bytes = 0;
    }
    groups.back().emplace_back(name, shape);
    bytes += size;
  }
  hf::ShardedSafetensorsWriter writer(out, groups.size());
  for (const auto& group : groups) {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& [name, shape] : group) {
      int64_t numel = 1;
      for (auto d : shape) numel *= d;
      tensors.emplace_back(name, slices.slice(name, numel, 1, 0).view(shape));
    }
    models::write_tensors_shard(writer, in_dtype(std::move(tensors), dtype));
  }
  writer.finish();
}

}  // namespace

at::ScalarType hf_export_dtype(const fs::path& base_folder) {
  auto config = hf::load_model_config(base_folder);
  auto dtype = config.dtype ? to_scalar_type(*config.dtype) : at::kFloat;
  return dtype == at::kBFloat16 || dtype == at::kHalf ? dtype : at::kFloat;
}

std::vector<std::pair<std::string, at::Tensor>> in_dtype(std::vector<std::pair<std::string, at::Tensor>> named,
                                                         at::ScalarType dtype) {
  for (auto& [name, tensor] : named) tensor = tensor.to(dtype);
  return named;
}

fs::path consolidate_checkpoint(const fs::path& checkpoint, const fs::path& out_arg) {
  AM_CHECK(fs::is_directory(checkpoint / "model"), "[consolidate] {} is not a training checkpoint (no model/ folder)",
           checkpoint.string());
  const fs::path out = out_arg.empty() ? checkpoint / "model" / "consolidated" : out_arg;
  AM_CHECK(!fs::exists(out), "[consolidate] {} exists already; remove it or choose another --out", out.string());
  const auto base = base_model_of(checkpoint);
  const auto model_dir = checkpoint / "model";
  // Written beside its destination, then renamed: an interrupted run leaves no half folder.
  auto staging = out.parent_path() / fmt::format(".{}.tmp-{}", out.filename().string(), ::getpid());
  fs::remove_all(staging);
  fs::create_directories(staging);
  const auto dtype = hf_export_dtype(base);
  try {
    if (fs::exists(model_dir / "fsdp_shard_rank0.safetensors")) {
      join_fsdp_slices(checkpoint, base, staging, dtype);
    } else if (fs::exists(model_dir / "adapter_model.safetensors")) {
      models::LoadOptions load;
      load.dtype = dtype;  // merged in fp32, rounded once to the base's dtype
      load.read_only_weights = true;  // merged weights are new tensors
      auto model = models::load_pretrained(base.string(), load);
      peft::load_adapter(*model, model_dir);
      models::save_weights(*model, staging);
    } else {
      AM_FAIL("[consolidate] {} holds neither fsdp2 slices nor a LoRA adapter: it is already a Hugging Face folder",
              model_dir.string());
    }
    copy_model_metadata(base, staging);
    write_generation_config(hf::load_model_config(base), staging);
    fs::create_directories(out.parent_path());
    fs::rename(staging, out);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw;
  }
  log_info("consolidated {} into {} (base model {})", checkpoint.string(), out.string(), base.string());
  return out;
}

}  // namespace automodel::checkpoint
