// `automodel consolidate`: a complete Hugging Face folder from a training checkpoint written
// without one (save_consolidated: false or final): fsdp2 slices are joined a group of tensors at a
// time (the model never sits whole in memory), a LoRA adapter is merged into its base model.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace automodel::checkpoint {

// The dtype of every Hugging Face folder written from `base_folder`'s model (model/consolidated,
// `consolidate`, `merge-lora`): the base checkpoint's own (a bf16 or fp16 base stays so; fp32
// otherwise), whatever dtype training held the weights in.
at::ScalarType hf_export_dtype(const std::filesystem::path& base_folder);
// `named` with every tensor in `dtype` (those already in it are not copied).
std::vector<std::pair<std::string, at::Tensor>> in_dtype(std::vector<std::pair<std::string, at::Tensor>> named,
                                                         at::ScalarType dtype);

// Writes `out` (default: <checkpoint>/model/consolidated) with the weights and the base model's
// config/tokenizer files (the base is the model named in the checkpoint's config.yaml). Returns
// the folder written. `out` must not exist yet.
std::filesystem::path consolidate_checkpoint(const std::filesystem::path& checkpoint,
                                             const std::filesystem::path& out = {});

}  // namespace automodel::checkpoint
