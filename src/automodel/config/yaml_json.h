// YAML recipes as JSON trees: AutoModel recipes are YAML, our typed readers (hf::JsonFields)
// take JSON. Plain scalars are typed as AutoModel's loader types them (ints, floats such as
// 1e-8, true/false, null/None); quoted scalars stay strings.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace automodel::config {

// Values a recipe may expand to (aliases count once per use): real recipes have a few hundred.
inline constexpr size_t kMaxYamlValues = 1'000'000;

nlohmann::json parse_yaml(const std::string& text, const std::string& label);
nlohmann::json load_yaml_file(const std::filesystem::path& path);
// Types one plain (unquoted) scalar: "8" -> 8, "1e-8" -> 1e-8, "None" -> null, "x" -> "x".
nlohmann::json parse_plain_scalar(const std::string& text);
// A value given on the command line: a plain scalar or a YAML flow list/map ("[0.9, 0.95]").
nlohmann::json parse_yaml_value(const std::string& text, const std::string& label);
std::string to_yaml(const nlohmann::json& tree);

}  // namespace automodel::config
