// Mistral: Llama layout with sliding-window attention on every layer.
#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture mistral_architecture() {
  Architecture arch;
  arch.model_type = "mistral";
  arch.features = "Llama layout, sliding window on every layer";
  arch.hf_class = "MistralForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    spec.sliding_window.assign(spec.num_layers, read_sliding_window(c));
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "mistral", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "rope_theta": 10000.0, "sliding_window": 4, "tie_word_embeddings": true})";
  return arch;
}

// Ministral (3B/8B): Mistral whose full and sliding layers are listed in `layer_types` (all
// sliding by default when a window is set).
Architecture ministral_architecture() {
  Architecture arch;
  arch.model_type = "ministral";
  arch.features = "Llama layout, sliding/full layers from layer_types";
  arch.hf_class = "MinistralForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    spec.qkv_bias = spec.o_bias = false;
    auto window = read_sliding_window(c, 4096);
    auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, [&window](int64_t) {
      return window ? "sliding_attention" : "full_attention";
    });
    set_sliding_layers(spec, types, window);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "ministral", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "sliding_window": 4})";
  return arch;
}

// Ministral 3 (and Mistral 3 VLMs' text): Mistral with yarn rope and a query temperature on every
// layer from rope_parameters' llama_4_scaling_beta over original_max_position_embeddings.
Architecture ministral3_architecture() {
  Architecture arch;
  arch.model_type = "ministral3";
  arch.features = "Mistral layout, yarn rope, position-dependent query temperature (llama_4_scaling_beta)";
  arch.hf_class = "Ministral3ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    // HF's default rope_parameters (yarn x16 with the temperature) is not reproduced: configs ship theirs.
    AM_CHECK(c.has("rope_parameters"), "[config] {}: expected rope_parameters (Ministral 3's yarn and "
             "llama_4_scaling_beta); none found", c.label());
    ConfigDefaults defaults;
    defaults.head_dim = 128;
    defaults.rope_theta = 1000000.0;
    defaults.norm_eps = 1e-5;
    defaults.pad_token_id = 11;
    auto spec = read_decoder_spec(c, defaults);
    spec.sliding_window.assign(spec.num_layers, read_sliding_window(c));
    auto rope = c.child("rope_parameters");
    if (rope.has("llama_4_scaling_beta"))
      spec.query_temperature = QueryTemperature{
          static_cast<double>(rope.check_int("original_max_position_embeddings",
                                             rope.get_int("original_max_position_embeddings"), 1, hf::kMaxPositions)),
          rope.check_positive("llama_4_scaling_beta", rope.get_double("llama_4_scaling_beta")), /*offset=*/0,
          /*nope_layers_only=*/false};
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "ministral3", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 64, "pad_token_id": null, "rope_parameters": {"rope_type": "yarn", "rope_theta": 1000000.0,
    "factor": 4.0, "original_max_position_embeddings": 8, "beta_fast": 32.0, "beta_slow": 1.0,
    "llama_4_scaling_beta": 0.1}})";
  return arch;
}

}  // namespace automodel::models
