// OLMo (1): non-parametric LayerNorm, optional q/k/v clipping. OLMo-2: post-norm (each branch's
// output normalised, no input norms), RMSNorm over the whole q/k projections. OLMo-3: OLMo-2
// with sliding windows on 3 of 4 layers and a rope per layer type.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

void use_olmo2_layout(DecoderSpec& spec) {
  spec.norm.scale_in_fp32 = true;
  spec.names.attn_in_norm = "";
  spec.names.attn_out_norm = "post_attention_layernorm";
  spec.names.mlp_in_norm = "";
  spec.names.mlp_out_norm = "post_feedforward_layernorm";
  spec.qk_norm = QkNorm::kFullWidth;
}

ConfigDefaults olmo_defaults() {
  ConfigDefaults defaults;
  defaults.norm_eps = 1e-5;
  defaults.pad_token_id = 1;
  return defaults;
}

}  // namespace

Architecture olmo_architecture() {
  Architecture arch;
  arch.model_type = "olmo";
  arch.features = "non-parametric LayerNorm, q/k/v clipping (clip_qkv)";
  arch.hf_class = "OlmoForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c, olmo_defaults());
    spec.norm.kind = NormSpec::Kind::kLayerNorm;
    spec.norm.eps = 1e-5;  // fixed in OLMo's layer norm, not read from the config
    spec.norm.layer_norm = LayerNormOptions{.weight = false, .bias = false};
    if (c.has("clip_qkv")) spec.clip_qkv = c.check_positive("clip_qkv", c.get_double("clip_qkv"));
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "olmo", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 64,
    "clip_qkv": 2.0})";
  return arch;
}

Architecture olmo2_architecture() {
  Architecture arch;
  arch.model_type = "olmo2";
  arch.features = "post-norm branches, full-width q/k RMSNorm";
  arch.hf_class = "Olmo2ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c, olmo_defaults());
    use_olmo2_layout(spec);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "olmo2", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64})";
  return arch;
}

Architecture olmo3_architecture() {
  Architecture arch;
  arch.model_type = "olmo3";
  arch.features = "OLMo-2 with 3 sliding : 1 full layers, rope per layer type";
  arch.hf_class = "Olmo3ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    constexpr double kDefaultTheta = 500000.0;
    auto defaults = olmo_defaults();
    defaults.rope_theta = kDefaultTheta;
    auto spec = read_decoder_spec(c, defaults);
    use_olmo2_layout(spec);
    auto window = read_sliding_window(c, 4096);
    auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, every_nth_layer_full(4));
    set_sliding_layers(spec, types, window);
    // Legacy configs: rope_theta/rope_scaling apply to full layers; sliding ones keep the default theta.
    read_per_layer_type_ropes(c, spec, kDefaultTheta, kDefaultTheta);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "olmo3", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "sliding_window": 4})";
  return arch;
}

}  // namespace automodel::models
