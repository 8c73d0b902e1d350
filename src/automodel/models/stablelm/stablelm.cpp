// StableLM (2): LayerNorm with biases, rope on the first quarter of each head, optional q/k/v
// biases, optionally a parallel residual with a single norm.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture stablelm_architecture() {
  Architecture arch;
  arch.model_type = "stablelm";
  arch.features = "LayerNorm with bias, partial rotary (0.25), q/k/v biases, optional parallel residual";
  arch.hf_class = "StableLmForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    reject_unsupported(c, {"qk_layernorm"});  // one LayerNorm module per head
    ConfigDefaults defaults;
    defaults.eps_key = "layer_norm_eps";
    defaults.norm_eps = 1e-5;
    defaults.partial_rotary_factor = 0.25;
    auto spec = read_decoder_spec(c, defaults);
    spec.norm.kind = NormSpec::Kind::kLayerNorm;
    spec.qkv_bias = c.get_bool("use_qkv_bias", false);
    spec.o_bias = false;
    spec.mlp.bias = false;
    if (c.get_bool("use_parallel_residual", false)) {
      spec.parallel_residual = true;
      spec.names.mlp_in_norm = "";
    }
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "stablelm", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "layer_norm_eps": 1e-5,
    "max_position_embeddings": 64, "use_qkv_bias": true, "partial_rotary_factor": 0.25})";
  return arch;
}

}  // namespace automodel::models
