// Mistral: Llama layout with sliding-window attention on every layer.
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

}  // namespace automodel::models
