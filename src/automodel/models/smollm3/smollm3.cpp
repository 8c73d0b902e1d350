// SmolLM3: Llama with NoPE on every 4th layer (`no_rope_layers`), optional sliding windows on
// NoPE layers.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture smollm3_architecture() {
  Architecture arch;
  arch.model_type = "smollm3";
  arch.features = "NoPE layers (no_rope_layers), optional sliding windows on them";
  arch.hf_class = "SmolLM3ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.rope_theta = 2000000.0;
    defaults.tie_word_embeddings = true;
    defaults.pad_token_id = 128004;
    auto spec = read_decoder_spec(c, defaults);
    // no_rope_layers: 1 = rotary, 0 = NoPE; by default every no_rope_layer_interval-th layer is NoPE.
    std::vector<bool> uses_rope(static_cast<size_t>(spec.num_layers));
    if (c.has("no_rope_layers")) {
      uses_rope = read_layer_flags(c, "no_rope_layers", spec.num_layers);
    } else {
      auto interval = c.check_int("no_rope_layer_interval", c.get_int("no_rope_layer_interval", 4), 1, hf::kMaxLayers);
      for (int64_t i = 0; i < spec.num_layers; ++i) uses_rope[static_cast<size_t>(i)] = (i + 1) % interval != 0;
    }
    spec.nope_layers.assign(uses_rope.size(), false);
    for (size_t i = 0; i < uses_rope.size(); ++i) spec.nope_layers[i] = !uses_rope[i];
    auto window = read_sliding_window(c);
    if (c.get_bool("use_sliding_window", false) && window) {
      auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, [&](int64_t i) {
        return uses_rope[static_cast<size_t>(i)] ? "full_attention" : "sliding_attention";
      });
      set_sliding_layers(spec, types, window);
    }
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "smollm3", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "rope_theta": 2000000.0, "no_rope_layer_interval": 2, "pad_token_id": null})";
  return arch;
}

}  // namespace automodel::models
