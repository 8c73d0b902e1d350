#include "automodel/hf/json_fields.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <optional>

#include "automodel/common/error.h"

namespace automodel::hf {
namespace {
std::string found(const nlohmann::json& v) {
  std::string text = v.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return fmt::format("{} {}", v.type_name(), text);
}
// A number, or a non-finite float as transformers 5 writes one ({"__float__": "Infinity"}).
std::optional<double> number_of(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_object() || v.size() != 1 || !v.contains("__float__") || !v["__float__"].is_string()) return std::nullopt;
  const auto& text = v["__float__"].get_ref<const std::string&>();
  if (text == "Infinity") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}
}  // namespace

JsonFields::JsonFields(std::shared_ptr<const nlohmann::json> object, std::string label, std::string prefix)
    : root_(std::move(object)), object_(root_.get()), label_(std::move(label)), prefix_(std::move(prefix)) {
  AM_CHECK(object_->is_object(), "[config] {}: expected a JSON object, found {}", label_, found(*object_));
}

std::string JsonFields::where(const std::string& key) const {
  return fmt::format("{}: field '{}{}'", label_, prefix_, key);
}

bool JsonFields::has(const std::string& key) const {
  if (reads_) reads_->insert(prefix_ + key);
  auto it = object_->find(key);
  return it != object_->end() && !it->is_null();
}

bool JsonFields::present(const std::string& key) const {
  if (reads_) reads_->insert(prefix_ + key);
  return object_->contains(key);
}

const nlohmann::json& JsonFields::raw(const std::string& key) const { return require(key); }

const nlohmann::json& JsonFields::require(const std::string& key) const {
  if (reads_) reads_->insert(prefix_ + key);
  auto it = object_->find(key);
  AM_CHECK(it != object_->end() && !it->is_null(), "[config] {} is required but missing", where(key));
  return *it;
}

JsonFields JsonFields::child(const std::string& key) const {
  const auto& v = require(key);
  AM_CHECK(v.is_object(), "[config] {}: expected an object, found {}", where(key), found(v));
  JsonFields out = *this;
  out.object_ = &v;
  out.prefix_ = prefix_ + key + ".";
  return out;
}

int64_t JsonFields::get_int(const std::string& key) const {
  const auto& v = require(key);
  // Accept 8.0 for integers (some exporters write floats) but not 8.5; the range test comes
  // first because casting an out-of-range double is undefined.
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d >= -9.2e18 && d <= 9.2e18 && d == std::trunc(d)) return static_cast<int64_t>(d);
  }
  AM_CHECK(v.is_number_integer(), "[config] {}: expected an integer, found {}", where(key), found(v));
  AM_CHECK(!v.is_number_unsigned() || v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX),
           "[config] {}: expected an integer that fits in 64 bits, found {}", where(key), found(v));
  return v.get<int64_t>();
}

double JsonFields::get_double(const std::string& key) const {
  const auto& v = require(key);
  auto number = number_of(v);
  AM_CHECK(number.has_value(), "[config] {}: expected a number, found {}", where(key), found(v));
  return *number;
}

bool JsonFields::get_bool(const std::string& key) const {
  const auto& v = require(key);
  AM_CHECK(v.is_boolean(), "[config] {}: expected true/false, found {}", where(key), found(v));
  return v.get<bool>();
}

std::string JsonFields::get_string(const std::string& key) const {
  const auto& v = require(key);
  AM_CHECK(v.is_string(), "[config] {}: expected a string, found {}", where(key), found(v));
  return v.get<std::string>();
}

std::vector<double> JsonFields::get_double_list(const std::string& key) const {
  const auto& v = require(key);
  AM_CHECK(v.is_array(), "[config] {}: expected a list of numbers, found {}", where(key), found(v));
  std::vector<double> out;
  for (const auto& e : v) {
    auto number = number_of(e);
    AM_CHECK(number.has_value(), "[config] {}: expected a list of numbers, found element {}", where(key), found(e));
    out.push_back(*number);
  }
  return out;
}

std::vector<std::string> JsonFields::get_string_list(const std::string& key) const {
  const auto& v = require(key);
  AM_CHECK(v.is_array(), "[config] {}: expected a list of strings, found {}", where(key), found(v));
  std::vector<std::string> out;
  for (const auto& e : v) {
    AM_CHECK(e.is_string(), "[config] {}: expected a list of strings, found element {}", where(key), found(e));
    out.push_back(e.get<std::string>());
  }
  return out;
}

int64_t JsonFields::check_int(const std::string& key, int64_t value, int64_t min, int64_t max) const {
  AM_CHECK(value >= min && value <= max, "[config] {}: expected an integer in [{}, {}], found {}", where(key), min, max,
           value);
  return value;
}

double JsonFields::check_positive(const std::string& key, double value) const {
  AM_CHECK(std::isfinite(value) && value > 0, "[config] {}: expected a finite number > 0, found {}", where(key), value);
  return value;
}

double JsonFields::check_finite(const std::string& key, double value) const {
  AM_CHECK(std::isfinite(value), "[config] {}: expected a finite number, found {}", where(key), value);
  return value;
}

void JsonFields::check_divisible(const std::string& key, int64_t value, const std::string& divisor_key,
                                 int64_t divisor) const {
  AM_CHECK(divisor > 0 && value % divisor == 0, "[config] {}: expected a multiple of {}{} ({}), found {}", where(key),
           prefix_, divisor_key, divisor, value);
}

int64_t JsonFields::get_int(const std::string& key, int64_t fallback) const { return has(key) ? get_int(key) : fallback; }
double JsonFields::get_double(const std::string& key, double fallback) const {
  return has(key) ? get_double(key) : fallback;
}
bool JsonFields::get_bool(const std::string& key, bool fallback) const { return has(key) ? get_bool(key) : fallback; }
std::string JsonFields::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}
std::optional<int64_t> JsonFields::get_optional_int(const std::string& key) const {
  return has(key) ? std::optional<int64_t>(get_int(key)) : std::nullopt;
}
std::optional<double> JsonFields::get_optional_double(const std::string& key) const {
  return has(key) ? std::optional<double>(get_double(key)) : std::nullopt;
}

}  // namespace automodel::hf
