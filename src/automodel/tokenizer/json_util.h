// Checked access to tokenizer.json / tokenizer_config.json fields with errors that name the
// location, the expected type and what was found.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "automodel/common/error.h"

namespace automodel::tokenizer {

inline const nlohmann::json& require_field(const nlohmann::json& obj, const char* key, const std::string& where) {
  AM_CHECK(obj.is_object() && obj.contains(key), "[tokenizer] {}: missing field '{}'", where, key);
  return obj.at(key);
}

inline const nlohmann::json& require_list(const nlohmann::json& obj, const char* key, const std::string& where) {
  const auto& v = require_field(obj, key, where);
  AM_CHECK(v.is_array(), "[tokenizer] {}.{}: expected a list, found {}", where, key, v.type_name());
  return v;
}

inline std::string require_string(const nlohmann::json& obj, const char* key, const std::string& where) {
  const auto& v = require_field(obj, key, where);
  AM_CHECK(v.is_string(), "[tokenizer] {}.{}: expected a string, found {}", where, key, v.type_name());
  return v.get<std::string>();
}

template <typename T>
T field_or(const nlohmann::json& obj, const char* key, T fallback, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) return fallback;
  const auto& v = obj.at(key);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // A converting get<> of an out-of-range number is undefined behaviour: check the range first.
    constexpr auto lo = std::numeric_limits<T>::min();
    constexpr auto hi = std::numeric_limits<T>::max();
    bool ok = false;
    if (v.is_number_unsigned()) ok = v.get<uint64_t>() <= static_cast<uint64_t>(hi);
    else if (v.is_number_integer()) ok = v.get<int64_t>() >= static_cast<int64_t>(lo) &&
                                         (static_cast<uint64_t>(hi) > static_cast<uint64_t>(INT64_MAX) ||
                                          v.get<int64_t>() <= static_cast<int64_t>(hi));
    else if (v.is_number_float()) {
      double d = v.get<double>();
      ok = std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(lo) && d < static_cast<double>(hi);
    }
    AM_CHECK(ok, "[tokenizer] {}.{}: expected an integer in [{}, {}], found {}", where, key, lo, hi,
             v.dump().substr(0, 40));
    return v.is_number_float() ? static_cast<T>(v.get<double>())
           : v.is_number_unsigned() ? static_cast<T>(v.get<uint64_t>()) : static_cast<T>(v.get<int64_t>());
  } else {
    try {
      return v.get<T>();
    } catch (const nlohmann::json::exception&) {
      AM_FAIL("[tokenizer] {}.{}: unexpected type {}", where, key, v.type_name());
    }
  }
}

// A `{"String": "..."}` or `{"Regex": "..."}` pattern as a PCRE2 pattern.
std::string pattern_to_regex(const nlohmann::json& pattern, const std::string& where);

}  // namespace automodel::tokenizer
