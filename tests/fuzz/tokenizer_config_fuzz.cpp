// libFuzzer target: arbitrary bytes as a tokenizer_config.json: parse_tokenizer_config, the
// special-token lookups and post-processor rebuild load_tokenizer does (on the stories260K
// tokenizer), an encode, and the chat-template context. Must either work or throw automodel::Error.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/tokenizer/tokenizer_config.h"

using automodel::tokenizer::Tokenizer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kTokenizerJson = AUTOMODEL_SOURCE_DIR "/tests/fixtures/stories260K/tokenizer.json";
  try {
    auto json = automodel::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "tokenizer_config.json");
    auto config = automodel::tokenizer::parse_tokenizer_config(json, "tokenizer_config.json");
    auto tok = Tokenizer::from_file(kTokenizerJson);  // fresh: the rebuild below mutates it
    auto id_of = [&](const std::optional<std::string>& t) { return t ? tok.token_to_id(*t) : std::nullopt; };
    auto bos = id_of(config.bos_token), eos = id_of(config.eos_token);
    (void)id_of(config.pad_token);
    std::vector<int32_t> prefix, suffix;
    if (config.add_bos_token.value_or(true) && bos) prefix.push_back(*bos);
    if (config.add_eos_token.value_or(false) && eos) suffix.push_back(*eos);
    tok.set_special_tokens_template(prefix, suffix);
    auto ids = tok.encode("Once upon a time", true);
    auto text = tok.decode(ids, true);
    if (config.clean_up_tokenization_spaces) (void)automodel::tokenizer::clean_up_tokenization(text);
    if (!config.chat_templates.empty()) (void)config.chat_template();
    auto messages = nlohmann::json::parse(R"([{"role": "user", "content": "hi"}])");
    (void)automodel::tokenizer::chat_template_context(config, messages, nullptr, true);
  } catch (const automodel::Error&) {
  }
  return 0;
}
