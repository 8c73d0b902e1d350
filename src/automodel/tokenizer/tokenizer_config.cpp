#include "automodel/tokenizer/tokenizer_config.h"

#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/common/string_util.h"
#include "automodel/tokenizer/json_util.h"

namespace automodel::tokenizer {
namespace fs = std::filesystem;
namespace {

// Special tokens are written as "<s>" or as an AddedToken dict {"content": "<s>", ...}.
std::optional<std::string> special_token(const nlohmann::json& config, const char* key, const std::string& label) {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  const auto& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  AM_FAIL("[tokenizer] {}: field '{}' must be a string or {{\"content\": ...}}, found {}", label, key, v.dump());
}

}  // namespace

nlohmann::json chat_template_context(const TokenizerConfig& config, const nlohmann::json& messages,
                                     const nlohmann::json& tools, bool add_generation_prompt) {
  nlohmann::json context = {{"messages", messages},
                            {"tools", tools},
                            {"documents", nullptr},
                            {"add_generation_prompt", add_generation_prompt}};
  for (auto [key, value] : {std::pair{"bos_token", &config.bos_token}, std::pair{"eos_token", &config.eos_token},
                            std::pair{"unk_token", &config.unk_token}, std::pair{"pad_token", &config.pad_token}})
    if (*value) context[key] = **value;
  return context;
}

TokenizerConfig parse_tokenizer_config(const nlohmann::json& config, const std::string& label) {
  AM_CHECK(config.is_object(), "[tokenizer] {}: expected a JSON object", label);
  TokenizerConfig c;
  c.tokenizer_class = field_or<std::string>(config, "tokenizer_class", "", label);
  c.bos_token = special_token(config, "bos_token", label);
  c.eos_token = special_token(config, "eos_token", label);
  c.pad_token = special_token(config, "pad_token", label);
  c.unk_token = special_token(config, "unk_token", label);
  for (auto [key, target] : {std::pair{"add_bos_token", &c.add_bos_token}, std::pair{"add_eos_token", &c.add_eos_token}}) {
    if (!config.contains(key) || config[key].is_null()) continue;
    AM_CHECK(config[key].is_boolean(), "[tokenizer] {}: field '{}' must be true/false, found {}", label, key, config[key].dump());
    *target = config[key].get<bool>();
  }
  if (config.contains("chat_template") && !config["chat_template"].is_null()) {
    const auto& t = config["chat_template"];
    if (t.is_string()) {
      c.chat_templates["default"] = t.get<std::string>();
    } else if (t.is_array()) {
      for (size_t i = 0; i < t.size(); ++i) {
        std::string where = label + ": chat_template[" + std::to_string(i) + "]";
        c.chat_templates[require_string(t[i], "name", where)] = require_string(t[i], "template", where);
      }
    } else {
      AM_FAIL("[tokenizer] {}: field 'chat_template' must be a string or a list of {{name, template}}, found {}", label,
              t.type_name());
    }
  }
  c.clean_up_tokenization_spaces = field_or(config, "clean_up_tokenization_spaces", false, label);
  auto side = field_or<std::string>(config, "truncation_side", "right", label);
  AM_CHECK(side == "right" || side == "left", "[tokenizer] {}: field 'truncation_side' must be \"right\" or "
           "\"left\", found \"{}\"", label, side);
  c.truncate_left = side == "left";
  if (config.contains("model_max_length") && config["model_max_length"].is_number()) {
    double v = config["model_max_length"].get<double>();
    if (v < 1e18) c.model_max_length = static_cast<int64_t>(v);  // HF writes 1e30 for "no limit"
  }
  return c;
}

const std::string& TokenizerConfig::chat_template(const std::string& name) const {
  auto it = chat_templates.find(name.empty() ? "default" : name);
  if (it != chat_templates.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [n, _] : chat_templates) names.push_back(n);
  AM_CHECK(!names.empty(), "[tokenizer] this tokenizer has no chat template; set one with the dataset's chat_template");
  AM_FAIL("[tokenizer] no chat template named '{}'; available: {}", name.empty() ? "default" : name, join(names, ", "));
}

TokenizerConfig load_tokenizer_config(const fs::path& folder) {
  TokenizerConfig out;
  if (auto path = folder / "tokenizer_config.json"; fs::exists(path)) {
    out = parse_tokenizer_config(parse_json(read_file(path), path.string()), path.string());
  }
  if (fs::exists(folder / "chat_template.jinja")) out.chat_templates["default"] = read_file(folder / "chat_template.jinja");
  // transformers saves named templates (a list in older configs) as one file each.
  if (auto dir = folder / "additional_chat_templates"; fs::is_directory(dir))
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_regular_file() && entry.path().extension() == ".jinja")
        out.chat_templates[entry.path().stem().string()] = read_file(entry.path());
  return out;
}

std::optional<fs::path> tokenizer_vocabulary_file(const fs::path& folder) {
  for (const char* name : {"tokenizer.json", "tokenizer.model"})
    if (fs::exists(folder / name)) return folder / name;
  return std::nullopt;
}

LoadedTokenizer load_tokenizer(const fs::path& folder) {
  auto vocab = tokenizer_vocabulary_file(folder);
  AM_CHECK(vocab, "[tokenizer] {}: no tokenizer.json or tokenizer.model", folder.string());
  LoadedTokenizer out{vocab->filename() == "tokenizer.json" ? Tokenizer::from_file(*vocab) : Tokenizer::from_sentencepiece(*vocab),
                      load_tokenizer_config(folder), {}, {}, {}};
  auto id_of = [&](const std::optional<std::string>& token) -> std::optional<int32_t> {
    return token ? out.tokenizer.token_to_id(*token) : std::nullopt;
  };
  out.bos_id = id_of(out.config.bos_token);
  out.eos_id = id_of(out.config.eos_token);
  out.pad_id = id_of(out.config.pad_token);
  const auto& cls = out.config.tokenizer_class;
  bool rebuilds_post_processor = cls.find("Llama") != std::string::npos || cls.find("Gemma") != std::string::npos;
  if (rebuilds_post_processor && (out.config.add_bos_token || out.config.add_eos_token)) {
    std::vector<int32_t> prefix, suffix;
    if (out.config.add_bos_token.value_or(true) && out.bos_id) prefix.push_back(*out.bos_id);
    if (out.config.add_eos_token.value_or(false) && out.eos_id) suffix.push_back(*out.eos_id);
    out.tokenizer.set_special_tokens_template(prefix, suffix);
  }
  return out;
}

}  // namespace automodel::tokenizer
