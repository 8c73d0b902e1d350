// Phi (1, 1.5, 2): LayerNorm with bias feeding attention and MLP in parallel, biases on every
// projection (attention output: self_attn.dense), rope on part of each head, a plain
// fc1 -> gelu -> fc2 MLP, final_layernorm, and an LM head with a bias.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture phi_architecture() {
  Architecture arch;
  arch.model_type = "phi";
  arch.hf_class = "PhiForCausalLM";
  arch.features = "parallel attention + MLP under one LayerNorm, biases everywhere incl. the LM head, partial rotary, "
                  "plain GELU MLP (fc1/fc2)";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    reject_unsupported(c, {"qk_layernorm"});
    ConfigDefaults defaults;
    defaults.eps_key = "layer_norm_eps";
    defaults.norm_eps = 1e-5;
    defaults.act = "gelu_new";
    defaults.partial_rotary_factor = 0.5;
    auto spec = read_decoder_spec(c, defaults);
    spec.norm.kind = NormSpec::Kind::kLayerNorm;
    spec.qkv_bias = spec.o_bias = spec.mlp.bias = spec.lm_head_bias = true;
    spec.parallel_residual = true;
    spec.names.mlp_in_norm = "";
    spec.names.o = "dense";
    spec.names.final_norm = "final_layernorm";
    spec.mlp.kind = MlpSpec::Kind::kPlain;
    spec.mlp.names.up = "fc1";
    spec.mlp.names.down = "fc2";
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "phi", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "layer_norm_eps": 1e-5,
    "max_position_embeddings": 64, "partial_rotary_factor": 0.5})";
  return arch;
}

}  // namespace automodel::models
