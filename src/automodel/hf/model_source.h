// Resolves what the user named (a local folder, or a hub id like "org/name") to a local HF model
// folder, looking in the HF hub cache layout (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace automodel::hf {

std::vector<std::filesystem::path> hub_cache_roots();
// Error lists every place looked at when nothing is found.
std::filesystem::path resolve_model_folder(const std::string& name_or_path, const std::string& revision = "main");

}  // namespace automodel::hf
