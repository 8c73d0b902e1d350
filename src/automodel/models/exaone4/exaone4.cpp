// EXAONE 4: OLMo-2-style post-norm with per-head q/k RMSNorm; sliding windows on 3 of 4 layers
// (sliding_window_pattern), and then no rope on the full-attention layers.
#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

#include <nlohmann/json.hpp>

namespace automodel::models {

Architecture exaone4_architecture() {
  Architecture arch;
  arch.model_type = "exaone4";
  arch.features = "post-norm branches, per-head q/k RMSNorm, sliding pattern, NoPE on full layers";
  arch.hf_class = "Exaone4ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.norm_eps = 1e-5;
    auto spec = read_decoder_spec(c, defaults);
    spec.qkv_bias = spec.o_bias = false;
    spec.names.attn_in_norm = "";
    spec.names.attn_out_norm = "post_attention_layernorm";
    spec.names.mlp_in_norm = "";
    spec.names.mlp_out_norm = "post_feedforward_layernorm";
    spec.qk_norm = QkNorm::kPerHead;
    auto window = read_sliding_window(c, 4096);
    if (!window) return std::make_unique<DecoderLM>(config, spec, options);
    // sliding_window_pattern: an int n (every n-th layer full) or a string like "LLLG" (L local, G global).
    std::function<std::string(int64_t)> pattern = every_nth_layer_full(4);
    if (c.has("sliding_window_pattern")) {
      const auto& p = c.raw("sliding_window_pattern");
      if (p.is_string()) {
        auto letters = p.get<std::string>();
        AM_CHECK(!letters.empty() && letters.find_first_not_of("LG") == std::string::npos,
                 "[config] {}: expected a string of L (local) and G (global), found '{}'",
                 c.where("sliding_window_pattern"), letters);
        pattern = [letters](int64_t i) {
          return letters[static_cast<size_t>(i) % letters.size()] == 'L' ? "sliding_attention" : "full_attention";
        };
      } else {
        auto n = c.check_int("sliding_window_pattern", c.get_int("sliding_window_pattern"), 1, hf::kMaxLayers);
        pattern = every_nth_layer_full(n);
      }
    }
    auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, pattern);
    set_sliding_layers(spec, types, window);
    spec.nope_layers.assign(types.size(), false);
    for (size_t i = 0; i < types.size(); ++i) spec.nope_layers[i] = types[i] != "sliding_attention";
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "exaone4", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 64, "sliding_window": 4, "sliding_window_pattern": 2})";
  return arch;
}

}  // namespace automodel::models
