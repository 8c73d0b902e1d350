// Zero-copy safetensors reading: one memory-mapped file, or a whole checkpoint folder
// (single file or shards listed by model.safetensors.index.json) behind one name lookup.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "automodel/hf/safetensors_header.h"

namespace automodel::hf {

// A tensor inside a mapped file: metadata plus a pointer to its bytes (valid while the file is).
struct TensorView {
  const TensorEntry* entry = nullptr;
  const std::byte* data = nullptr;
  const std::filesystem::path* file = nullptr;
  std::shared_ptr<const void> keep_alive;  // the mapped file; hold it to use `data` later
};

class SafetensorsFile : public std::enable_shared_from_this<SafetensorsFile> {
 public:
  // `populate`: map every page up front (one kernel pass, no per-page faults later); use it when
  // all tensors will be read, not for header-only inspection of big checkpoints.
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path, bool populate = false);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::vector<TensorEntry>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const TensorEntry* find(const std::string& name) const;
  TensorView view(const TensorEntry& entry) const;
  uint64_t file_size() const { return size_; }

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  void* map_ = nullptr;
  uint64_t size_ = 0;
  const std::byte* data_ = nullptr;  // start of the data section
  SafetensorsHeader header_;
  std::unordered_map<std::string, size_t> index_;
};

// All tensors of a model folder. `open` accepts a folder (model.safetensors or
// model.safetensors.index.json inside) or a single .safetensors / .index.json path.
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open(const std::filesystem::path& path, bool populate = false);

  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  TensorView get(const std::string& name) const;  // error naming the checkpoint if absent
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  uint64_t total_bytes() const;
  const std::filesystem::path& source() const { return source_; }

 private:
  std::filesystem::path source_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, std::pair<size_t, const TensorEntry*>> where_;
};

}  // namespace automodel::hf
