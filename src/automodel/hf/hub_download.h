// Hub repos as local folders: the snapshot of a model or dataset repo in the HF cache, with the
// files we read downloaded when missing (a few at a time, resumable, with progress), or from
// the cache alone when HF_HUB_OFFLINE is set or the hub cannot be reached.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "automodel/hf/hub_repo.h"

namespace automodel::hf {

// Which repo files a caller reads, by their path in the repo.
using FileFilter = std::function<bool(const std::string& path)>;

// The files of a model repo we read: config.json, generation_config.json, tokenizer and chat
// template files, *.safetensors (+ index), processor configs; not *.bin/*.pt/*.gguf/onnx.
bool is_model_file(const std::string& path);

// snapshots/<commit> of `repo` (or the file/folder repo.subpath names there) holding every file
// `wanted` accepts. Throws automodel::Error naming the repo, revision and what is missing.
std::filesystem::path hub_snapshot(const RepoRef& repo, const FileFilter& wanted);

}  // namespace automodel::hf
