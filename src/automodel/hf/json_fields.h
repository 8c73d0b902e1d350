// Typed, error-reporting access to a JSON object read from a file: every failure names the file,
// the field, what was expected and what was found.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace automodel::hf {

class JsonFields {
 public:
  JsonFields(std::shared_ptr<const nlohmann::json> object, std::string label, std::string prefix = "");

  bool has(const std::string& key) const;  // present and not null
  bool present(const std::string& key) const;  // present, maybe null (a null that overrides a default)
  const nlohmann::json& raw(const std::string& key) const;
  JsonFields child(const std::string& key) const;  // a nested object

  int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  // Numbers may be non-finite (a bare Infinity, YAML's .inf, transformers 5's {"__float__":
  // "Infinity"}): callers check the range they need (check_positive, check_finite).
  std::vector<double> get_double_list(const std::string& key) const;
  std::vector<std::string> get_string_list(const std::string& key) const;

  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::optional<int64_t> get_optional_int(const std::string& key) const;
  std::optional<double> get_optional_double(const std::string& key) const;

  // Range checks for a value read from (or defaulted for) `key`; each returns the value. Errors
  // read "<file>: field 'k': expected an integer in [1, 4096], found -1".
  int64_t check_int(const std::string& key, int64_t value, int64_t min, int64_t max) const;
  double check_positive(const std::string& key, double value) const;  // finite and > 0
  double check_finite(const std::string& key, double value) const;
  // `value` is a multiple of `divisor` (read from `divisor_key`).
  void check_divisible(const std::string& key, int64_t value, const std::string& divisor_key, int64_t divisor) const;

  // Records the full name ("a.b") of every field looked up from now on, here and in children.
  void record_reads(std::shared_ptr<std::set<std::string>> into) { reads_ = std::move(into); }

  // "<file>: field 'a.b'" for messages.
  std::string where(const std::string& key) const;
  const std::string& label() const { return label_; }

 private:
  const nlohmann::json& require(const std::string& key) const;
  std::shared_ptr<const nlohmann::json> root_;
  const nlohmann::json* object_;
  std::string label_, prefix_;
  std::shared_ptr<std::set<std::string>> reads_;
};

}  // namespace automodel::hf
