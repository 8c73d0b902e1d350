// Moving parameters between a model and HF safetensors: strict loading by HF name (missing,
// unexpected or mis-shaped tensors are errors naming them), saving as HF does, random init.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "automodel/hf/safetensors.h"
#include "automodel/hf/safetensors_writer.h"
#include "automodel/models/common/causal_lm.h"

namespace automodel::models {

// `borrow`: parameters whose dtype matches the file (on CPU) share its mapped, read-only pages
// instead of being copied (see LoadOptions::read_only_weights).
void load_weights(CausalLM& model, const hf::SafetensorsCheckpoint& checkpoint, bool borrow = false);

// The model's tensors under HF names, as HF would save them (Module::export_parameters: an
// adapter wrapper contributes its merged weight, not its adapter). `include` limits it to some
// names (FSDP writes one gathered layer at a time).
std::vector<std::pair<std::string, at::Tensor>> hf_state_dict(
    const CausalLM& model, const std::function<bool(const std::string&)>& include = {});
// Writes named tensors as `<prefix>.safetensors` or shards + index (atomically, file by file).
std::vector<std::filesystem::path> save_tensors(const std::vector<std::pair<std::string, at::Tensor>>& named,
                                                const std::filesystem::path& dir, uint64_t max_shard_bytes,
                                                const std::string& prefix);

// One shard of a layer-by-layer save (see hf::ShardedSafetensorsWriter).
void write_tensors_shard(hf::ShardedSafetensorsWriter& writer,
                         const std::vector<std::pair<std::string, at::Tensor>>& named);

// Writes the model's parameters (HF names, their current dtype) as model.safetensors or shards
// plus index. Tied aliases are not written, as HF does.
std::vector<std::filesystem::path> save_weights(const CausalLM& model, const std::filesystem::path& dir,
                                                uint64_t max_shard_bytes = 5ull << 30);

// Deterministic random init for tests: N(0, 1/fan_in) matrices, 1 + N(0, 0.1) vectors.
void init_random(CausalLM& model, uint64_t seed);

}  // namespace automodel::models
