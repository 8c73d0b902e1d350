#include "automodel/checkpoint/training_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <nlohmann/json.hpp>

#include "automodel/checkpoint/flat_shards.h"
#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/common/torch_util.h"
#include "automodel/config/yaml_json.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/weights.h"

namespace fs = std::filesystem;

namespace automodel::checkpoint {

void save_training_state(const fs::path& dir, const TrainingState& state, const train::AdamW& optimizer,
                         const nlohmann::json& recipe, const std::vector<at::Tensor>& rank_rng,
                         bool sharded_optimizer, int64_t world_size) {
  fs::create_directories(dir / "optim");
  if (!sharded_optimizer) models::save_tensors(optimizer.state(), dir / "optim", ~0ull, "optimizer");
  write_file_atomic(dir / "optim" / "optimizer.json",
                    nlohmann::json{{"step", optimizer.step_count()}, {"type", "adamw"}, {"sharded", sharded_optimizer},
                                   {"world_size", world_size}}
                            .dump(2) +
                        "\n");
  fs::create_directories(dir / "dataloader");
  write_file_atomic(dir / "dataloader" / "state.json",
                    nlohmann::json{{"epoch", state.epoch}, {"next_batch", state.batch},
                                   {"local_batch_size", state.local_batch_size}}
                            .dump(2) +
                        "\n");
  write_file_atomic(dir / "step_scheduler.json",
                    nlohmann::json{{"step", state.step}, {"epoch", state.epoch}}.dump(2) + "\n");
  fs::create_directories(dir / "rng");
  std::vector<std::pair<std::string, at::Tensor>> rng = {{"cpu", at::detail::getDefaultCPUGenerator().get_state()}};
  for (size_t r = 0; r < rank_rng.size(); ++r) rng.emplace_back(fmt::format("cpu.rank{}", r), rank_rng[r]);
  models::save_tensors(rng, dir / "rng", ~0ull, "rng");
  write_file_atomic(dir / "config.yaml", config::to_yaml(recipe));
}

namespace {
nlohmann::json read_checkpoint_json(const fs::path& dir, const fs::path& relative) {
  auto path = dir / relative;
  AM_CHECK(fs::is_regular_file(path), "[checkpoint] {} is missing: {} is not a complete checkpoint", path.string(),
           dir.string());
  auto j = parse_json_or_discarded(read_file(path), path.string());
  AM_CHECK(j.is_object(), "[checkpoint] {}: not a JSON object", path.string());
  return j;
}
}  // namespace

int64_t saved_shard_count(const fs::path& dir) {
  auto optim = read_checkpoint_json(dir, "optim/optimizer.json");
  return optim.value("sharded", false) ? optim.value("world_size", int64_t{1}) : 1;
}

TrainingState load_training_state(const fs::path& dir, train::AdamW& optimizer, const ShardLayout& layout) {
  auto sched = read_checkpoint_json(dir, "step_scheduler.json");
  auto loader = read_checkpoint_json(dir, "dataloader/state.json");
  auto optim = read_checkpoint_json(dir, "optim/optimizer.json");
  TrainingState s;
  s.step = sched.at("step").get<int64_t>();
  s.epoch = loader.at("epoch").get<int64_t>();
  s.batch = loader.at("next_batch").get<int64_t>();
  s.local_batch_size = loader.value("local_batch_size", int64_t{0});
  // Saved sharded by W ranks (fsdp2) or whole: re-sliced into this run's layout.
  FlatShardFiles files(dir / "optim", "optimizer", saved_shard_count(dir));
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  const bool sharded = layout.world > 1;
  for (const auto& p : optimizer.params()) {
    const int64_t numel = sharded ? layout.numel(p.name) : p.tensor->numel();
    for (const char* suffix : {".exp_avg", ".exp_avg_sq"})
      tensors.emplace_back(p.name + suffix, files.slice(p.name + suffix, numel, layout.world, sharded ? layout.rank : 0)
                                                .view(p.tensor->sizes()));
    if (files.contains(p.name + ".step")) tensors.emplace_back(p.name + ".step", files.whole(p.name + ".step"));
  }
  optimizer.load_state(tensors, optim.at("step").get<int64_t>());
  auto rng = hf::SafetensorsCheckpoint::open(dir / "rng" / "rng.safetensors");
  auto generator = at::detail::getDefaultCPUGenerator();
  auto own = fmt::format("cpu.rank{}", layout.rank);
  generator.set_state(tensor_from_view(rng.get(rng.contains(own) ? own : "cpu"), at::kByte, c10::kCPU));
  return s;
}

void load_parameters(models::CausalLM& model, const fs::path& path, const std::string& file_prefix,
                     const std::string& filter) {
  auto file = hf::SafetensorsCheckpoint::open(path);
  at::NoGradGuard no_grad;
  for (const auto& p : model.named_parameters()) {
    if (!filter.empty() && p.name.find(filter) == std::string::npos) continue;
    auto key = file_prefix + p.name;
    AM_CHECK(file.contains(key), "[checkpoint] {}: no tensor '{}' (was the run started with other model or peft "
             "settings?)", path.string(), key);
    auto view = file.get(key);
    AM_CHECK(view.entry->shape == p.tensor->sizes().vec(), "[checkpoint] {}: '{}' has another shape than the model's",
             path.string(), key);
    copy_view_into(view, *p.tensor);
  }
}

}  // namespace automodel::checkpoint
