// fsdp2 keeps each trainable tensor as flat slices: a tensor of n elements over W ranks is padded
// with zeros to W * ceil(n / W) elements and rank r holds slice r. Checkpoints store each rank's
// slices in its own file (<stem>_rank<r>.safetensors); a run with another number of processes,
// or an unsharded one, reads them back by re-slicing.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "automodel/hf/safetensors.h"

namespace automodel::checkpoint {

inline int64_t flat_chunk(int64_t numel, int64_t world) { return (numel + world - 1) / world; }

class FlatShardFiles {
 public:
  // `saved_world` > 1: <dir>/<stem>_rank<r>.safetensors for every r (each must exist);
  // 1: <dir>/<stem>.safetensors, whole tensors of any shape.
  FlatShardFiles(const std::filesystem::path& dir, const std::string& stem, int64_t saved_world);
  int64_t saved_world() const { return static_cast<int64_t>(files_.size()); }
  bool contains(const std::string& name) const { return files_.front().contains(name); }
  std::vector<std::string> names() const { return files_.front().names(); }
  // `name` (a tensor of `numel` elements) as rank `rank` of `world` holds it: a flat fp32 slice of
  // flat_chunk(numel, world) elements (world 1: the whole tensor, flattened).
  at::Tensor slice(const std::string& name, int64_t numel, int64_t world, int64_t rank) const;
  // A tensor every rank saved whole (e.g. a step count): rank 0's copy, fp32.
  at::Tensor whole(const std::string& name) const;

 private:
  std::vector<std::filesystem::path> paths_;
  std::vector<hf::SafetensorsCheckpoint> files_;
};

}  // namespace automodel::checkpoint
