// tokenizer_config.json (and chat_template.jinja): special tokens, add_bos/eos_token, chat
// templates (one string or a named list), model_max_length; plus loading a whole tokenizer folder
// (or only its config: rendering a chat template needs no vocabulary).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "automodel/tokenizer/tokenizer.h"

namespace automodel::tokenizer {

struct TokenizerConfig {
  std::string tokenizer_class;
  std::optional<std::string> bos_token, eos_token, pad_token, unk_token;
  std::optional<bool> add_bos_token, add_eos_token;
  std::map<std::string, std::string> chat_templates;  // "default" plus named ones
  std::optional<int64_t> model_max_length;            // absent when the config uses HF's "infinite" sentinel
  bool truncate_left = false;                          // truncation_side: "left" keeps a row's last tokens
  bool clean_up_tokenization_spaces = false;           // transformers' decode post-processing

  // The template to use: `name` or the default one; error listing the available ones.
  const std::string& chat_template(const std::string& name = "") const;
};

TokenizerConfig parse_tokenizer_config(const nlohmann::json& config, const std::string& label);

// The variables transformers' apply_chat_template gives a template: `messages`, `tools` and
// `documents` (None when not given: templates test `tools is not none`), add_generation_prompt
// and the tokenizer's special tokens (bos/eos/unk/pad_token). Extra variables go on top.
nlohmann::json chat_template_context(const TokenizerConfig& config, const nlohmann::json& messages,
                                     const nlohmann::json& tools, bool add_generation_prompt);

// What a folder says besides its vocabulary, as transformers reads it: tokenizer_config.json
// (when present), chat_template.jinja (replaces the default template) and
// additional_chat_templates/NAME.jinja (named templates). Needs no tokenizer.json.
TokenizerConfig load_tokenizer_config(const std::filesystem::path& folder);

// The folder's vocabulary: tokenizer.json, else tokenizer.model (SentencePiece); nullopt if neither.
std::optional<std::filesystem::path> tokenizer_vocabulary_file(const std::filesystem::path& folder);

// A model folder's tokenizer: tokenizer.json + tokenizer_config.json (+ chat_template.jinja).
// Llama/Gemma-family classes rebuild the post-processor from add_bos_token/add_eos_token, as
// transformers does.
struct LoadedTokenizer {
  Tokenizer tokenizer;
  TokenizerConfig config;
  std::optional<int32_t> bos_id, eos_id, pad_id;
  const std::string& chat_template(const std::string& name = "") const { return config.chat_template(name); }
};

LoadedTokenizer load_tokenizer(const std::filesystem::path& folder);

}  // namespace automodel::tokenizer
