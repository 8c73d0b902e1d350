// Resolves what the user named (a local folder, a hub id like "org/name", or hf://org/name[@rev])
// to a local HF model folder: the snapshot in the HF hub cache, downloading missing files
// (hf/hub_download.h; HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE as huggingface_hub reads them).
#pragma once

#include <filesystem>
#include <string>

#include "automodel/hf/hub_env.h"

namespace automodel::hf {

// `revision`: branch, tag or commit (an "@rev" in an hf:// URI wins). Errors name the repo,
// revision and what is missing.
std::filesystem::path resolve_model_folder(const std::string& name_or_path, const std::string& revision = "main");

}  // namespace automodel::hf
