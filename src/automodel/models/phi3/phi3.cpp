// Phi-3 / Phi-4(-mini): Llama with fused qkv_proj ([q | k | v]) and gate_up_proj ([gate | up]),
// optional partial rotary and longrope; a sliding window, when set, on every layer.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture phi3_architecture() {
  Architecture arch;
  arch.model_type = "phi3";
  arch.features = "fused qkv_proj and gate_up_proj, partial rotary, longrope, sliding window";
  arch.hf_class = "Phi3ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.norm_eps = 1e-5;
    defaults.pad_token_id = 32000;
    auto spec = read_decoder_spec(c, defaults);
    spec.qkv_bias = spec.o_bias = false;
    spec.names.qkv = "qkv_proj";
    spec.names.output_first = true;
    spec.mlp.names.fused = "gate_up_proj";
    spec.sliding_window.assign(spec.num_layers, read_sliding_window(c));
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "phi3", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 64, "partial_rotary_factor": 0.75, "sliding_window": 8, "pad_token_id": null})";
  return arch;
}

}  // namespace automodel::models
