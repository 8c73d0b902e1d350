// Checked access to tokenizer.json / tokenizer_config.json fields with errors that name the
// location, the expected type and what was found.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "automodel/common/error.h"

namespace automodel::tokenizer {

inline const nlohmann::json& require_field(const nlohmann::json& obj, const char* key, const std::string& where) {
  AM_CHECK(obj.is_object() && obj.contains(key), "[tokenizer] {}: missing field '{}'", where, key);
  return obj.at(key);
}

inline std::string require_string(const nlohmann::json& obj, const char* key, const std::string& where) {
  const auto& v = require_field(obj, key, where);
  AM_CHECK(v.is_string(), "[tokenizer] {}.{}: expected a string, found {}", where, key, v.type_name());
  return v.get<std::string>();
}

template <typename T>
T field_or(const nlohmann::json& obj, const char* key, T fallback, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) return fallback;
  try {
    return obj.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    AM_FAIL("[tokenizer] {}.{}: unexpected type {}", where, key, obj.at(key).type_name());
  }
}

// A `{"String": "..."}` or `{"Regex": "..."}` pattern as a PCRE2 pattern.
std::string pattern_to_regex(const nlohmann::json& pattern, const std::string& where);

}  // namespace automodel::tokenizer
