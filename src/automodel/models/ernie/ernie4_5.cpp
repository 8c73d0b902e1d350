// ERNIE 4.5 (dense): Llama with interleaved-pair rope, optional biases on every projection
// (use_bias) and a tied head by default.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

ConfigDefaults ernie_defaults() {
  ConfigDefaults defaults;
  defaults.head_dim = 128;
  defaults.norm_eps = 1e-5;
  defaults.rope_theta = 500000.0;
  defaults.tie_word_embeddings = true;
  defaults.pad_token_id = 0;
  return defaults;
}

}  // namespace

Architecture ernie4_5_architecture() {
  Architecture arch;
  arch.model_type = "ernie4_5";
  arch.features = "interleaved rope, optional biases everywhere, tied head";
  arch.hf_class = "Ernie4_5ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c, ernie_defaults());
    spec.qkv_bias = spec.o_bias = spec.mlp.bias = c.get_bool("use_bias", false);
    spec.rope_interleaved = true;
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "ernie4_5", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 64, "use_bias": true})";
  return arch;
}

// ERNIE 4.5 MoE: ERNIE 4.5 attention; softmax routing computed in fp32 whose expert choice adds a
// correction bias (moe_statics), shared experts, MoE on every moe_layer_interval-th layer within
// [moe_layer_start_index, moe_layer_end_index].
Architecture ernie4_5_moe_architecture() {
  Architecture arch;
  arch.model_type = "ernie4_5_moe";
  arch.hf_class = "Ernie4_5_MoeForCausalLM";
  arch.features = "softmax-routed MoE with a choice-only correction bias and shared experts, interleaved rope";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    reject_unsupported(c, {"use_bias"});  // also puts a bias on the LM head
    auto spec = read_decoder_spec(c, ernie_defaults());
    spec.rope_interleaved = true;
    MoeOptions moe;
    const char* experts_key = c.has("moe_num_experts") ? "moe_num_experts" : "num_experts";
    moe.num_experts = c.check_int(experts_key, c.get_int(experts_key, 64), 1, hf::kMaxExperts);
    const char* k_key = c.has("moe_k") ? "moe_k" : "num_experts_per_tok";
    moe.top_k = c.check_int(k_key, c.get_int(k_key, 6), 1, moe.num_experts);
    moe.expert_intermediate =
        c.check_int("moe_intermediate_size", c.get_int("moe_intermediate_size", 1536), 1, hf::kMaxWidth);
    moe.expert.names = MlpNames{};
    moe.expert.act = spec.mlp.act;
    moe.router_in_fp32 = true;
    moe.correction_bias_name = "moe_statics.e_score_correction_bias";
    moe.correction_bias_shape = {1, moe.num_experts};
    moe.shared_expert_intermediate =
        moe.expert_intermediate *
        c.check_int("moe_num_shared_experts", c.get_int("moe_num_shared_experts", 2), 0, hf::kMaxExperts);
    moe.shared_expert_name = "shared_experts";
    moe.shared_expert_gate_name = "";
    if (c.get_bool("output_router_logits", false))
      moe.aux_loss_coef = c.check_finite("router_aux_loss_coef", c.get_double("router_aux_loss_coef", 0.001));
    spec.moe = moe;
    auto interval = c.check_int("moe_layer_interval", c.get_int("moe_layer_interval", 1), 1, hf::kMaxLayers);
    auto start = c.check_int("moe_layer_start_index", c.get_int("moe_layer_start_index", 1), 0, spec.num_layers);
    auto end = c.get_int("moe_layer_end_index", -1);
    if (end == -1) end = spec.num_layers - 1;
    c.check_int("moe_layer_end_index", end, 0, spec.num_layers - 1);
    spec.moe_layers.assign(static_cast<size_t>(spec.num_layers), false);
    for (int64_t i = 0; i < spec.num_layers; ++i)
      spec.moe_layers[static_cast<size_t>(i)] = (i + 1) % interval == 0 && i >= start && i <= end;
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "ernie4_5_moe", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 64, "moe_num_experts": 4, "moe_k": 2, "moe_intermediate_size": 16,
    "moe_num_shared_experts": 1, "moe_layer_start_index": 1})";
  return arch;
}

}  // namespace automodel::models
