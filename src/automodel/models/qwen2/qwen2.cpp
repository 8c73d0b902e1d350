// Qwen2 / Qwen2.5 (biased q/k/v, optional sliding window on upper layers) and Qwen3 (per-head
// q/k RMSNorm, no biases).
#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

// Per-layer attention type: `layer_types` when present, else sliding for layers >= max_window_layers.
void read_qwen_sliding_windows(const hf::JsonFields& c, DecoderSpec& spec) {
  if (!c.get_bool("use_sliding_window", false)) return;  // sliding_window may then be 0 or anything
  auto window = read_sliding_window(c);
  if (!window) return;
  // Beyond num_hidden_layers means no sliding layer, as in transformers.
  int64_t first_sliding = c.check_int("max_window_layers", c.get_int("max_window_layers", spec.num_layers), 0, hf::kMaxLayers);
  auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, [&](int64_t i) {
    return i >= first_sliding ? "sliding_attention" : "full_attention";
  });
  set_sliding_layers(spec, types, window);
}

}  // namespace

Architecture qwen2_architecture() {
  Architecture arch;
  arch.model_type = "qwen2";
  arch.features = "q/k/v biases, sliding window on upper layers (max_window_layers)";
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
  arch.features = "per-head q/k RMSNorm, head_dim independent of hidden size";
  arch.hf_class = "Qwen3ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    spec.qk_norm = QkNorm::kPerHead;
    read_qwen_sliding_windows(c, spec);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "qwen3", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "rms_norm_eps": 1e-6, "max_position_embeddings": 64, "rope_theta": 1000000.0, "tie_word_embeddings": true})";
  return arch;
}

}  // namespace automodel::models
