// The one way to parse JSON that comes from user files (config.json, tokenizer files, dataset
// rows, adapters, safetensors headers): nesting depth is bounded before nlohmann builds a tree,
// because copying and comparing nlohmann values recurse and a deep document overflows the stack.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace automodel {

// Generous: real HF files nest < 20 levels.
inline constexpr int kMaxJsonDepth = 512;

// Throws an Error naming `label` (and `line`, for one line of a JSON Lines file), the limit and the
// depth found when `text` nests deeper than `limit` arrays/objects. Linear, allocation-free.
void check_json_depth(std::string_view text, std::string_view label, size_t line = 0, int limit = kMaxJsonDepth);

// Depth-checked parse of JSON as Python's json module writes it (bare Infinity, -Infinity and NaN
// accepted: +-infinity, NaN as null); invalid JSON is an Error "<label>: not valid JSON (...)".
nlohmann::json parse_json(std::string_view text, std::string_view label);
nlohmann::ordered_json parse_ordered_json(std::string_view text, std::string_view label);
// Depth-checked parse; invalid JSON gives a discarded value (the caller words the error), too deep
// JSON still throws.
nlohmann::json parse_json_or_discarded(std::string_view text, std::string_view label, size_t line = 0);

}  // namespace automodel
