// Parsing and validation of a safetensors header (the JSON after the 8-byte length). Separate
// from file I/O so the fuzz target and tests can drive it with arbitrary bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "automodel/hf/dtype.h"

namespace automodel::hf {

struct TensorEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the start of the data section
  uint64_t end = 0;
  int64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
};

struct SafetensorsHeader {
  std::vector<TensorEntry> tensors;  // in file order of data offsets
  std::map<std::string, std::string> metadata;
};

// Validates everything a reader relies on: JSON shape, known dtypes, shape x dtype == byte
// count, offsets within `data_size`, no overlaps, no duplicate names. Errors name `label`.
SafetensorsHeader parse_safetensors_header(std::string_view header_json, uint64_t data_size,
                                           std::string_view label);

// Parses a whole safetensors file image: the 8-byte little-endian header length, the header,
// and checks that every tensor lies inside the data section. `data_start` is its byte offset.
struct ParsedSafetensors {
  SafetensorsHeader header;
  uint64_t data_start = 0;
};
ParsedSafetensors parse_safetensors_buffer(const void* bytes, uint64_t size, std::string_view label);

// Largest header we accept (the reference implementation's limit): bounds memory on bad input.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100u << 20;

}  // namespace automodel::hf
