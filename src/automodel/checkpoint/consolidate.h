// `automodel consolidate`: a complete Hugging Face folder from a training checkpoint written
// without one (save_consolidated: false or final): fsdp2 slices are joined a group of tensors at a
// time (the model never sits whole in memory), a LoRA adapter is merged into its base model.
#pragma once

#include <filesystem>

namespace automodel::checkpoint {

// Writes `out` (default: <checkpoint>/model/consolidated) with the weights and the base model's
// config/tokenizer files (the base is the model named in the checkpoint's config.yaml). Returns
// the folder written. `out` must not exist yet.
std::filesystem::path consolidate_checkpoint(const std::filesystem::path& checkpoint,
                                             const std::filesystem::path& out = {});

}  // namespace automodel::checkpoint
