// libFuzzer target: arbitrary bytes as a model config.json: parse_model_config, then the typed
// reads every decoder architecture does (models/common/decoder_lm.cpp read_decoder_spec, minus the
// torch part) and the RoPE parameters. Must either accept or throw automodel::Error.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "automodel/common/error.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/rope_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto config = automodel::hf::parse_model_config(std::string(reinterpret_cast<const char*>(data), size), "config.json");
    auto c = config.fields();
    auto hidden = c.get_int("hidden_size", 64);
    auto heads = c.get_int("num_attention_heads", 4);
    auto kv_heads = c.get_int("num_key_value_heads", heads);
    AM_CHECK(heads > 0 && kv_heads > 0 && heads % kv_heads == 0, "[fuzz] heads");
    (void)c.get_int("vocab_size", 1);
    (void)c.get_int("intermediate_size", 1);
    (void)c.get_int("num_hidden_layers", 1);
    (void)c.get_double("rms_norm_eps", 1e-6);
    (void)c.get_string("hidden_act", "silu");
    (void)c.get_bool("tie_word_embeddings", false);
    (void)c.get_optional_int("sliding_window");
    if (c.has("text_config")) (void)c.child("text_config").get_int("hidden_size", 1);
    auto head_dim = c.get_int("head_dim", hidden / heads);
    (void)automodel::hf::parse_rope_config(c, head_dim);
  } catch (const automodel::Error&) {
  }
  return 0;
}
