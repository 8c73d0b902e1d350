// Writing safetensors: one file, or HF-style shards plus model.safetensors.index.json. Every
// file is written atomically (temp file, fsync, rename); the index is written last.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
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

// Writes `<prefix>-0000i-of-0000n.safetensors` one shard at a time (n known up front), then the
// index: a model that never exists whole in memory (FSDP) is saved layer by layer. n = 1 writes
// `<prefix>.safetensors` and no index, as write_sharded_safetensors does.
class ShardedSafetensorsWriter {
 public:
  ShardedSafetensorsWriter(std::filesystem::path dir, size_t num_shards, std::string prefix = "model",
                           std::map<std::string, std::string> metadata = {{"format", "pt"}});
  std::filesystem::path write_shard(const std::vector<TensorToWrite>& tensors);
  std::filesystem::path finish();  // the index, after the last shard

 private:
  std::filesystem::path dir_;
  size_t num_shards_, written_ = 0;
  std::string prefix_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::pair<std::string, std::string>> entries_;  // tensor -> file
  uint64_t total_ = 0;
};

}  // namespace automodel::hf
