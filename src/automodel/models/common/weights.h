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

// Quantized checkpoints dequantized on load (config.json's quantization_config):
//  - FP8 blocks (DeepSeek-V3, Qwen3/GLM "-FP8"; quant_method fp8 with weight_block_size [rows,
//    cols]): a weight in F8_E4M3 beside `<name>_scale_inv`, one fp32 scale per block;
//  - MXFP4 (gpt-oss; quant_method mxfp4): stacked experts as `<name>_blocks` (E, rows, cols/32,
//    16) bytes of two FP4 (e2m1) values, low nibble first, and `<name>_scales` (E, rows, cols/32)
//    E8M0 exponents; the parameter is the (E, cols, rows) transpose.
// Any other method is an error naming it.
struct CheckpointQuantization {
  enum class Kind { kNone, kFp8Blocks, kMxfp4 } kind = Kind::kNone;
  std::pair<int64_t, int64_t> fp8_block{0, 0};
};
CheckpointQuantization checkpoint_quantization(const hf::ModelConfig& config);

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

// Deterministic random init for tests and benchmarks (a model or any module): N(0, 1/fan_in)
// matrices, 1 + N(0, 0.1) vectors.
void init_random(Module& model, uint64_t seed);

}  // namespace automodel::models
