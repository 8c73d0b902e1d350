#include "automodel/hf/safetensors_header.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/common/string_util.h"

namespace automodel::hf {
namespace {

using nlohmann::json;

uint64_t read_offset(const json& value, std::string_view label, const std::string& name) {
  AM_CHECK(value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0),
           "[safetensors] {}: tensor '{}': data_offsets must be non-negative integers, found {}",
           label, name, value.dump());
  return value.get<uint64_t>();
}

TensorEntry parse_entry(const std::string& name, const json& entry, uint64_t data_size,
                        std::string_view label) {
  AM_CHECK(entry.is_object(), "[safetensors] {}: tensor '{}': expected an object, found {}", label,
           name, entry.type_name());
  TensorEntry t;
  t.name = name;
  auto dtype_it = entry.find("dtype");
  AM_CHECK(dtype_it != entry.end() && dtype_it->is_string(),
           "[safetensors] {}: tensor '{}': missing string field 'dtype'", label, name);
  auto dtype = parse_dtype(dtype_it->get<std::string>());
  AM_CHECK(dtype.has_value(), "[safetensors] {}: tensor '{}': unknown dtype '{}', expected one of {}",
           label, name, dtype_it->get<std::string>(), join(dtype_names(), ", "));
  t.dtype = *dtype;

  auto shape_it = entry.find("shape");
  AM_CHECK(shape_it != entry.end() && shape_it->is_array(),
           "[safetensors] {}: tensor '{}': missing array field 'shape'", label, name);
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& d : *shape_it) {
    AM_CHECK(d.is_number_integer() && d.get<int64_t>() >= 0,
             "[safetensors] {}: tensor '{}': shape entries must be non-negative integers, found {}",
             label, name, shape_it->dump());
    uint64_t dim = d.get<uint64_t>();
    if (dim != 0 && numel > UINT64_MAX / dim) overflow = true;
    numel *= dim;
    t.shape.push_back(static_cast<int64_t>(dim));
  }
  auto off_it = entry.find("data_offsets");
  AM_CHECK(off_it != entry.end() && off_it->is_array() && off_it->size() == 2,
           "[safetensors] {}: tensor '{}': 'data_offsets' must be [begin, end]", label, name);
  t.begin = read_offset((*off_it)[0], label, name);
  t.end = read_offset((*off_it)[1], label, name);
  AM_CHECK(t.begin <= t.end && t.end <= data_size,
           "[safetensors] {}: tensor '{}': data_offsets [{}, {}] out of range, data section has {} bytes",
           label, name, t.begin, t.end, data_size);
  uint64_t elem = dtype_size(t.dtype);
  AM_CHECK(!overflow && numel <= UINT64_MAX / elem && numel * elem == t.nbytes(),
           "[safetensors] {}: tensor '{}': shape {} x {} needs {} bytes, data_offsets give {}", label,
           name, shape_it->dump(), dtype_name(t.dtype), overflow ? 0 : numel * elem, t.nbytes());
  return t;
}

}  // namespace

int64_t TensorEntry::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

SafetensorsHeader parse_safetensors_header(std::string_view header_json, uint64_t data_size,
                                           std::string_view label) {
  // nlohmann keeps the last of duplicate keys silently; record top-level keys to reject them.
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      auto key = parsed.get<std::string>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  check_json_depth(header_json, label);
  json root;
  try {
    root = json::parse(header_json.begin(), header_json.end(), on_event);
  } catch (const json::exception& e) {
    AM_FAIL("[safetensors] {}: header is not valid JSON ({})", label, e.what());
  }
  AM_CHECK(duplicate.empty(), "[safetensors] {}: duplicate tensor name '{}' in header", label, duplicate);
  AM_CHECK(root.is_object(), "[safetensors] {}: header must be a JSON object, found {}", label,
           root.type_name());

  SafetensorsHeader header;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      AM_CHECK(value.is_object(), "[safetensors] {}: __metadata__ must be an object of strings", label);
      for (const auto& [mk, mv] : value.items()) {
        AM_CHECK(mv.is_string(), "[safetensors] {}: __metadata__['{}'] must be a string, found {}",
                 label, mk, mv.type_name());
        header.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    header.tensors.push_back(parse_entry(key, value, data_size, label));
  }
  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const TensorEntry& a, const TensorEntry& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  for (size_t i = 1; i < header.tensors.size(); ++i) {
    const auto& prev = header.tensors[i - 1];
    const auto& cur = header.tensors[i];
    AM_CHECK(cur.begin >= prev.end || cur.nbytes() == 0 || prev.nbytes() == 0,
             "[safetensors] {}: tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", label, prev.name,
             prev.begin, prev.end, cur.name, cur.begin, cur.end);
  }
  return header;
}

ParsedSafetensors parse_safetensors_buffer(const void* bytes, uint64_t size, std::string_view label) {
  AM_CHECK(size >= 8, "[safetensors] {}: file is {} bytes, expected at least 8 (header length)", label, size);
  const auto* b = static_cast<const unsigned char*>(bytes);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | b[i];
  AM_CHECK(header_len <= size - 8,
           "[safetensors] {}: header length {} exceeds the file ({} bytes): truncated or not safetensors", label,
           header_len, size);
  AM_CHECK(header_len <= kMaxSafetensorsHeaderBytes, "[safetensors] {}: header length {} exceeds the {} byte limit",
           label, header_len, kMaxSafetensorsHeaderBytes);
  ParsedSafetensors parsed;
  parsed.data_start = 8 + header_len;
  std::string_view header(reinterpret_cast<const char*>(b + 8), header_len);
  parsed.header = parse_safetensors_header(header, size - parsed.data_start, label);
  return parsed;
}

}  // namespace automodel::hf
