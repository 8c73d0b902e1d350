#include "automodel/hf/model_config.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"

namespace automodel::hf {
namespace fs = std::filesystem;

bool ModelConfig::checkpoint_has(const std::function<bool(const std::string&)>& test) const {
  return checkpoint_names && std::any_of(checkpoint_names->begin(), checkpoint_names->end(), test);
}

std::string ModelConfig::dump(int indent) const { return json->dump(indent); }

ModelConfig model_config_from_json(const nlohmann::json& object, const std::string& label) {
  ModelConfig config;
  config.label = label;
  config.json = std::make_shared<const nlohmann::json>(object);
  auto fields = config.fields();
  config.model_type = fields.get_string("model_type");
  if (fields.has("architectures")) config.architectures = fields.get_string_list("architectures");
  for (const char* key : {"dtype", "torch_dtype"}) {
    if (!fields.has(key)) continue;
    auto name = fields.get_string(key);
    auto dtype = parse_dtype_alias(name);
    AM_CHECK(dtype.has_value() || name == "auto", "[config] {}: unknown dtype '{}'", fields.where(key), name);
    config.dtype = dtype;
    break;
  }
  return config;
}

ModelConfig parse_model_config(const std::string& text, const std::string& label) {
  return model_config_from_json(parse_json(text, label), label);
}

ModelConfig load_model_config(const fs::path& path) {
  fs::path file = fs::is_directory(path) ? path / "config.json" : path;
  AM_CHECK(fs::exists(file), "[config] {}: no config.json (is this an HF model folder?)", path.string());
  return parse_model_config(read_file(file), file.string());
}

}  // namespace automodel::hf
