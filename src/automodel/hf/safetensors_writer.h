// Writing safetensors: one file, or HF-style shards plus model.safetensors.index.json. Every
// file is written atomically (temp file, fsync, rename); the index is written last.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "automodel/hf/dtype.h"

namespace automodel::hf {

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;  // contiguous, row-major, dtype_size(dtype) * numel bytes
  uint64_t nbytes;
};

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// Splits into shards of at most `max_shard_bytes` (a bigger tensor gets a shard of its own) named
// `<prefix>-0000i-of-0000n.safetensors` with an index, or `<prefix>.safetensors` if one shard.
// Returns the files written.
std::vector<std::filesystem::path> write_sharded_safetensors(
    const std::filesystem::path& dir, const std::vector<TensorToWrite>& tensors,
    uint64_t max_shard_bytes, const std::string& prefix = "model",
    const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace automodel::hf
