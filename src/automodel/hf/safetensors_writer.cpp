#include "automodel/hf/safetensors_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"

namespace automodel::hf {
namespace fs = std::filesystem;

void write_safetensors(const fs::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // HF orders entries by name in the header and lays data out in the same order.
  std::vector<const TensorToWrite*> order;
  std::set<std::string> names;
  for (const auto& t : tensors) {
    AM_CHECK(names.insert(t.name).second, "[safetensors] writing {}: duplicate tensor '{}'", path.string(), t.name);
    uint64_t expected = dtype_size(t.dtype);
    for (auto d : t.shape) expected *= static_cast<uint64_t>(d);
    AM_CHECK(expected == t.nbytes, "[safetensors] writing {}: tensor '{}' has {} bytes, shape needs {}",
             path.string(), t.name, t.nbytes, expected);
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->name < b->name; });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto* t : order) {
    header[t->name] = {{"dtype", std::string(dtype_name(t->dtype))},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->nbytes}}};
    offset += t->nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data section to 8 bytes, as HF does
  uint64_t len = text.size();
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(len >> (8 * i));

  AtomicFileWriter writer(path);
  writer.write(len_bytes, 8);
  writer.write(text);
  for (const auto* t : order) writer.write(t->data, t->nbytes);
  writer.commit();
}

std::vector<fs::path> write_sharded_safetensors(const fs::path& dir, const std::vector<TensorToWrite>& tensors,
                                                uint64_t max_shard_bytes, const std::string& prefix,
                                                const std::map<std::string, std::string>& metadata) {
  fs::create_directories(dir);
  std::vector<std::vector<TensorToWrite>> shards(1);
  uint64_t current = 0, total = 0;
  for (const auto& t : tensors) {
    if (!shards.back().empty() && current + t.nbytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(t);
    current += t.nbytes;
    total += t.nbytes;
  }
  std::vector<fs::path> written;
  if (shards.size() == 1) {
    written.push_back(dir / (prefix + ".safetensors"));
    write_safetensors(written.back(), shards[0], metadata);
    // A stale index from an earlier sharded save would shadow the single file: remove it.
    fs::remove(dir / (prefix + ".safetensors.index.json"));
    return written;
  }
  ShardedSafetensorsWriter writer(dir, shards.size(), prefix, metadata);
  for (const auto& shard : shards) written.push_back(writer.write_shard(shard));
  written.push_back(writer.finish());
  return written;
}

ShardedSafetensorsWriter::ShardedSafetensorsWriter(fs::path dir, size_t num_shards, std::string prefix,
                                                   std::map<std::string, std::string> metadata)
    : dir_(std::move(dir)), num_shards_(num_shards), prefix_(std::move(prefix)), metadata_(std::move(metadata)) {}

fs::path ShardedSafetensorsWriter::write_shard(const std::vector<TensorToWrite>& tensors) {
  AM_CHECK(written_ < num_shards_, "[safetensors] {}: more shards than the {} announced", dir_.string(), num_shards_);
  ++written_;
  // One shard is a plain `<prefix>.safetensors` without an index, as HF writes it.
  auto name = num_shards_ == 1 ? prefix_ + ".safetensors"
                               : fmt::format("{}-{:05d}-of-{:05d}.safetensors", prefix_, written_, num_shards_);
  write_safetensors(dir_ / name, tensors, metadata_);
  for (const auto& t : tensors) {
    entries_.emplace_back(t.name, name);
    total_ += t.nbytes;
  }
  return dir_ / name;
}

fs::path ShardedSafetensorsWriter::finish() {
  AM_CHECK(written_ == num_shards_, "[safetensors] {}: {} of {} shards written", dir_.string(), written_, num_shards_);
  if (num_shards_ == 1) {
    fs::remove(dir_ / (prefix_ + ".safetensors.index.json"));  // a stale one would shadow the file
    return dir_ / (prefix_ + ".safetensors");
  }
  std::sort(entries_.begin(), entries_.end());
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (const auto& [tensor, file] : entries_) weight_map[tensor] = file;
  nlohmann::ordered_json index = {{"metadata", {{"total_size", total_}}}, {"weight_map", weight_map}};
  auto path = dir_ / (prefix_ + ".safetensors.index.json");
  write_file_atomic(path, index.dump(2) + "\n");
  return path;
}

}  // namespace automodel::hf
