// GLM (glm-4-9b-chat-hf): Llama layout with q/k/v biases, a fused [gate | up] projection, and
// interleaved-pair rope on half of each head. GLM-4 (0414): the same with sandwich norms.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/moe_config.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

DecoderSpec read_glm_spec(const hf::JsonFields& c) {
  ConfigDefaults defaults;
  defaults.head_dim = 128;
  defaults.norm_eps = 1.5625e-7;
  defaults.partial_rotary_factor = 0.5;
  defaults.pad_token_id = 151329;
  auto spec = read_decoder_spec(c, defaults);
  spec.qkv_bias = c.get_bool("attention_bias", true);
  spec.o_bias = false;
  spec.mlp.names.fused = "gate_up_proj";
  spec.rope_interleaved = true;
  return spec;
}

}  // namespace

Architecture glm_architecture() {
  Architecture arch;
  arch.model_type = "glm";
  arch.features = "fused gate_up_proj, q/k/v biases, interleaved rope on half the head";
  arch.hf_class = "GlmForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    return std::make_unique<DecoderLM>(config, read_glm_spec(config.fields()), options);
  };
  arch.tiny_config_json = R"({"model_type": "glm", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "pad_token_id": null})";
  return arch;
}

Architecture glm4_architecture() {
  Architecture arch;
  arch.model_type = "glm4";
  arch.features = "GLM with sandwich norms";
  arch.hf_class = "Glm4ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto spec = read_glm_spec(config.fields());
    spec.names.attn_out_norm = "post_self_attn_layernorm";
    spec.names.mlp_out_norm = "post_mlp_layernorm";
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "glm4", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "pad_token_id": null})";
  return arch;
}

// GLM-4.5 / 4.6 / 4.7 (glm4_moe): Llama-style rope (halves, not GLM's pairs) on half the head,
// optional per-head q/k norms, DeepSeek-V3-style sigmoid routing with a shared expert after the
// first dense layer(s).
Architecture glm4_moe_architecture() {
  Architecture arch;
  arch.model_type = "glm4_moe";
  arch.hf_class = "Glm4MoeForCausalLM";
  arch.features = "sigmoid-routed MoE with correction bias, grouped top-k and shared experts after first_k_dense_replace, "
                  "partial rotary, optional q/k norms";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.norm_eps = 1e-5;
    defaults.partial_rotary_factor = 0.5;
    auto spec = read_decoder_spec(c, defaults);
    spec.o_bias = false;
    if (c.get_bool("use_qk_norm", false)) spec.qk_norm = QkNorm::kPerHead;
    read_deepseek_moe(c, spec, DeepSeekMoeDefaults{});
    skip_multi_token_prediction_layers(c, spec);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "glm4_moe", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 64, "attention_bias": true, "use_qk_norm": true, "n_routed_experts": 8,
    "num_experts_per_tok": 2, "moe_intermediate_size": 16, "n_shared_experts": 1, "n_group": 2, "topk_group": 1,
    "routed_scaling_factor": 2.5, "first_k_dense_replace": 1})";
  return arch;
}

}  // namespace automodel::models
