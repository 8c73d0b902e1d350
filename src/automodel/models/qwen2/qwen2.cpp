// Qwen2 / Qwen2.5 (biased q/k/v, optional sliding window on upper layers) and Qwen3 (per-head
// q/k RMSNorm, no biases).
#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

// Per-layer attention type: `layer_types` when present, else sliding for layers >= max_window_layers.
void read_qwen_sliding_windows(const hf::JsonFields& c, DecoderSpec& spec) {
  auto window = read_sliding_window(c);
  if (!c.get_bool("use_sliding_window", false) || !window) return;
  if (c.has("layer_types")) {
    auto types = c.get_string_list("layer_types");
    AM_CHECK(static_cast<int64_t>(types.size()) == spec.num_layers, "[config] {}: expected {} entries, found {}",
             c.where("layer_types"), spec.num_layers, types.size());
    for (int64_t i = 0; i < spec.num_layers; ++i) {
      AM_CHECK(types[i] == "full_attention" || types[i] == "sliding_attention",
               "[config] {}: entry {} is '{}', expected full_attention or sliding_attention", c.where("layer_types"), i,
               types[i]);
      if (types[i] == "sliding_attention") spec.sliding_window[i] = window;
    }
    return;
  }
  // Beyond num_hidden_layers means no sliding layer, as in transformers.
  int64_t first_sliding = c.check_int("max_window_layers", c.get_int("max_window_layers", spec.num_layers), 0, hf::kMaxLayers);
  for (int64_t i = first_sliding; i < spec.num_layers; ++i) spec.sliding_window[i] = window;
}

}  // namespace

Architecture qwen2_architecture() {
  Architecture arch;
  arch.model_type = "qwen2";
  arch.hf_class = "Qwen2ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    spec.qkv_bias = true;
    spec.o_bias = false;
    read_qwen_sliding_windows(c, spec);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "qwen2", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "rope_theta": 1000000.0, "use_sliding_window": true, "sliding_window": 4,
    "max_window_layers": 1, "tie_word_embeddings": true})";
  return arch;
}

Architecture qwen3_architecture() {
  Architecture arch;
  arch.model_type = "qwen3";
  arch.hf_class = "Qwen3ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    spec.qk_norm = true;
    read_qwen_sliding_windows(c, spec);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "qwen3", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "rms_norm_eps": 1e-6, "max_position_embeddings": 64, "rope_theta": 1000000.0, "tie_word_embeddings": true})";
  return arch;
}

}  // namespace automodel::models
