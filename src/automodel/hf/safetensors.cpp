#include "automodel/hf/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"

namespace automodel::hf {
namespace fs = std::filesystem;

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const fs::path& path, bool populate) {
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  const std::string label = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  AM_CHECK(fd >= 0, "[safetensors] cannot open {}: {}", label, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    AM_FAIL("[safetensors] cannot stat {}: {}", label, std::strerror(errno));
  }
  file->size_ = static_cast<uint64_t>(st.st_size);
  if (file->size_ == 0) {  // mmap cannot map an empty file; report it like any short file
    ::close(fd);
    parse_safetensors_buffer(nullptr, 0, label);
  }
  file->map_ = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
  ::close(fd);
  AM_CHECK(file->map_ != MAP_FAILED, "[safetensors] cannot mmap {}: {}", label, std::strerror(errno));
  auto parsed = parse_safetensors_buffer(file->map_, file->size_, label);
  file->header_ = std::move(parsed.header);
  file->data_ = static_cast<const std::byte*>(file->map_) + parsed.data_start;
  for (size_t i = 0; i < file->header_.tensors.size(); ++i)
    file->index_.emplace(file->header_.tensors[i].name, i);
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ && map_ != MAP_FAILED) ::munmap(map_, size_);
}

const TensorEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

TensorView SafetensorsFile::view(const TensorEntry& entry) const {
  return TensorView{&entry, data_ + entry.begin, &path_, shared_from_this()};
}

SafetensorsCheckpoint SafetensorsCheckpoint::open(const fs::path& path, bool populate) {
  SafetensorsCheckpoint ckpt;
  ckpt.source_ = path;
  fs::path index_path;
  std::vector<fs::path> shard_paths;
  if (fs::is_directory(path)) {
    if (fs::exists(path / "model.safetensors.index.json")) {
      index_path = path / "model.safetensors.index.json";
    } else if (fs::exists(path / "model.safetensors")) {
      shard_paths.push_back(path / "model.safetensors");
    } else {
      // Any *.safetensors.index.json or lone *.safetensors (e.g. adapter folders).
      for (const auto& e : fs::directory_iterator(path)) {
        auto name = e.path().filename().string();
        if (name.ends_with(".safetensors.index.json")) index_path = e.path();
      }
      if (index_path.empty())
        for (const auto& e : fs::directory_iterator(path))
          if (e.path().extension() == ".safetensors") shard_paths.push_back(e.path());
      std::sort(shard_paths.begin(), shard_paths.end());
    }
    AM_CHECK(!index_path.empty() || !shard_paths.empty(),
             "[safetensors] {}: no model.safetensors or model.safetensors.index.json found", path.string());
  } else {
    AM_CHECK(fs::exists(path), "[safetensors] {}: no such file or folder", path.string());
    if (path.string().ends_with(".index.json")) index_path = path;
    else shard_paths.push_back(path);
  }

  std::unordered_map<std::string, std::string> expected_shard;  // tensor -> shard file name
  if (!index_path.empty()) {
    auto index = parse_json(read_file(index_path), index_path.string());
    AM_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
             "[safetensors] {}: expected an object with 'weight_map'", index_path.string());
    std::vector<std::string> shard_names;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
      AM_CHECK(shard.is_string(), "[safetensors] {}: weight_map['{}'] must be a file name", index_path.string(), tensor);
      auto shard_name = shard.get<std::string>();
      AM_CHECK(shard_name.find('/') == std::string::npos && shard_name != "..",
               "[safetensors] {}: weight_map['{}'] = '{}' must be a file in the same folder",
               index_path.string(), tensor, shard_name);
      expected_shard[tensor] = shard_name;
      if (std::find(shard_names.begin(), shard_names.end(), shard_name) == shard_names.end())
        shard_names.push_back(shard_name);
    }
    std::sort(shard_names.begin(), shard_names.end());
    for (const auto& s : shard_names) shard_paths.push_back(index_path.parent_path() / s);
  }

  for (const auto& shard_path : shard_paths) {
    AM_CHECK(fs::exists(shard_path), "[safetensors] {}: shard {} listed in the index is missing",
             index_path.string(), shard_path.filename().string());
    auto file = SafetensorsFile::open(shard_path, populate);
    size_t file_index = ckpt.files_.size();
    for (const auto& entry : file->tensors()) {
      auto [it, inserted] = ckpt.where_.emplace(entry.name, std::make_pair(file_index, &entry));
      AM_CHECK(inserted, "[safetensors] tensor '{}' appears in both {} and {}", entry.name,
               ckpt.files_[it->second.first]->path().filename().string(), shard_path.filename().string());
    }
    ckpt.files_.push_back(std::move(file));
  }
  for (const auto& [tensor, shard] : expected_shard) {
    auto it = ckpt.where_.find(tensor);
    AM_CHECK(it != ckpt.where_.end(), "[safetensors] {}: tensor '{}' is listed in the index but absent from {}",
             index_path.string(), tensor, shard);
    AM_CHECK(ckpt.files_[it->second.first]->path().filename() == shard,
             "[safetensors] {}: tensor '{}' is listed in {} but stored in {}", index_path.string(), tensor,
             shard, ckpt.files_[it->second.first]->path().filename().string());
  }
  return ckpt;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, _] : where_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

TensorView SafetensorsCheckpoint::get(const std::string& name) const {
  auto it = where_.find(name);
  AM_CHECK(it != where_.end(), "[safetensors] {}: no tensor named '{}'", source_.string(), name);
  return files_[it->second.first]->view(*it->second.second);
}

uint64_t SafetensorsCheckpoint::total_bytes() const {
  uint64_t total = 0;
  for (const auto& f : files_) total += f->file_size();
  return total;
}

}  // namespace automodel::hf
