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
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  std::vector<std::pair<std::string, std::string>> entries;
  for (size_t i = 0; i < shards.size(); ++i) {
    auto name = fmt::format("{}-{:05d}-of-{:05d}.safetensors", prefix, i + 1, shards.size());
    written.push_back(dir / name);
    write_safetensors(written.back(), shards[i], metadata);
    for (const auto& t : shards[i]) entries.emplace_back(t.name, name);
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& [tensor, file] : entries) weight_map[tensor] = file;
  nlohmann::ordered_json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  write_file_atomic(dir / (prefix + ".safetensors.index.json"), index.dump(2) + "\n");
  written.push_back(dir / (prefix + ".safetensors.index.json"));
  return written;
}

}  // namespace automodel::hf
