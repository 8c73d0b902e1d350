// THE writer of a complete Hugging Face folder (training's model/consolidated, `automodel
// consolidate`, `merge-lora`): one dtype rule, the base's metadata with a matching dtype field,
// safetensors shards + index, staged beside the destination and renamed into place. Callers
// differ only in where the tensors come from.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace automodel::hf {
class SafetensorsCheckpoint;
class ShardedSafetensorsWriter;
}  // namespace automodel::hf
namespace automodel::models {
class CausalLM;
}

namespace automodel::checkpoint {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// The dtype of every HF folder written from `base_folder`'s model: the base checkpoint's own (a
// bf16 or fp16 base stays so; fp32 otherwise), whatever dtype training held the weights in.
at::ScalarType hf_export_dtype(const std::filesystem::path& base_folder);
// `named` with every tensor in `dtype` (those already in it are not copied).
NamedTensors in_dtype(NamedTensors named, at::ScalarType dtype);

// Everything of an HF folder but the weights, from `base` into `dest`: config.json with its
// torch_dtype/dtype field saying `dtype` (copied verbatim when it already does), tokenizer files
// and chat templates, and generation_config.json (copied, or derived from config.json as HF does).
void write_hf_metadata(const std::filesystem::path& base, const std::filesystem::path& dest, at::ScalarType dtype);

class HfFolderWriter {
 public:
  static constexpr uint64_t kMaxShardBytes = 5ull << 30;  // save_pretrained's default "5GB"

  // `base`: the model the weights derive from (dtype and metadata); `out` must not exist yet.
  HfFolderWriter(std::filesystem::path base, std::filesystem::path out);
  ~HfFolderWriter();  // not committed (an error on the way): the staging folder is removed
  HfFolderWriter(const HfFolderWriter&) = delete;
  HfFolderWriter& operator=(const HfFolderWriter&) = delete;

  at::ScalarType dtype() const { return dtype_; }
  // Also writes the base's tensors `model` does not build (CausalLM::foreign_part: a VLM's vision
  // tower, multi-token-prediction layers) unchanged, so the folder loads as the base's
  // architecture. Called before the weights are written.
  void carry_foreign_tensors(const models::CausalLM& model);
  // The whole model at once, in shards of at most kMaxShardBytes.
  void write(NamedTensors named);
  // Or a model that never sits whole in memory: `num_shards` groups (announced up front), one
  // safetensors shard each. One group is written as model.safetensors, as HF does.
  void begin_shards(size_t num_shards);
  void write_shard(NamedTensors group);
  // Index, metadata, then the rename into `out`, which it returns.
  std::filesystem::path commit();

 private:
  std::filesystem::path base_, out_, staging_;
  at::ScalarType dtype_;
  std::unique_ptr<hf::ShardedSafetensorsWriter> shards_;
  std::shared_ptr<const hf::SafetensorsCheckpoint> base_weights_;  // while carrying foreign tensors
  std::vector<std::string> carried_;
  NamedTensors carried_tensors() const;
  bool wrote_ = false, committed_ = false;
};

}  // namespace automodel::checkpoint
