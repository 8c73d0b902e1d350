// `automodel consolidate`: a complete Hugging Face folder from a training checkpoint written
// without one (save_consolidated: false or final): fsdp2 slices are joined a group of tensors at a
// time (the model never sits whole in memory), a LoRA adapter is merged into its base model.
// Both write through checkpoint::HfFolderWriter (hf_export.h).
#pragma once

#include <filesystem>

namespace automodel::checkpoint {

// Writes `out` (default: <checkpoint>/model/consolidated) with the weights and the base model's
// config/tokenizer files (the base is the model named in the checkpoint's config.yaml). Returns
// the folder written. `out` must not exist yet.
std::filesystem::path consolidate_checkpoint(const std::filesystem::path& checkpoint,
                                             const std::filesystem::path& out = {});

// `automodel merge-lora`: the PEFT adapter folder `adapter` folded into the model folder `base`
// (in fp32, rounded once to the base's dtype), written as the HF folder `out` (must not exist).
std::filesystem::path merge_lora(const std::filesystem::path& base, const std::filesystem::path& adapter,
                                 const std::filesystem::path& out);

}  // namespace automodel::checkpoint
