// Qwen3-Next and Qwen3.5 (text): 3 of 4 layers Gated DeltaNet ("linear_attn"), the others gated
// attention (q_proj also yields a sigmoid output gate per head) with per-head q/k norms and rope
// on a quarter of each head; every RMSNorm but the DeltaNet's gated one scales by (1 + w).
// Qwen3-Next adds Qwen-MoE layers with a gated shared expert; Qwen3.5 is dense; Qwen3.5-MoE has
// Qwen3-Next's MoE on every layer.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/gated_deltanet.h"
#include "automodel/models/common/moe_config.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

DecoderSpec read_qwen3_next_family(const hf::JsonFields& c, bool grouped_projections) {
  ConfigDefaults defaults;
  defaults.head_dim = 256;
  defaults.partial_rotary_factor = 0.25;
  auto spec = read_decoder_spec(c, defaults);
  spec.norm.unit_offset = true;
  spec.qk_norm = QkNorm::kPerHead;
  spec.attention_output_gate = true;
  auto interval = c.check_int("full_attention_interval", c.get_int("full_attention_interval", 4), 1, hf::kMaxLayers);
  auto types = read_layer_types(c, spec.num_layers, {"full_attention", "linear_attention"},
                                every_nth_layer_full(interval, "linear_attention"));
  GatedDeltaNetShape shape;
  shape.num_k_heads = c.check_int("linear_num_key_heads", c.get_int("linear_num_key_heads", 16), 1, hf::kMaxHeads);
  shape.num_v_heads = c.check_int("linear_num_value_heads", c.get_int("linear_num_value_heads", 32), 1, hf::kMaxHeads);
  c.check_divisible("linear_num_value_heads", shape.num_v_heads, "linear_num_key_heads", shape.num_k_heads);
  shape.k_dim = c.check_int("linear_key_head_dim", c.get_int("linear_key_head_dim", 128), 1, hf::kMaxWidth);
  shape.v_dim = c.check_int("linear_value_head_dim", c.get_int("linear_value_head_dim", 128), 1, hf::kMaxWidth);
  shape.conv_kernel = c.check_int("linear_conv_kernel_dim", c.get_int("linear_conv_kernel_dim", 4), 1, 64);
  shape.norm_eps = spec.norm.eps;
  shape.grouped_projections = grouped_projections;
  spec.attention_names.resize(types.size());
  for (size_t i = 0; i < types.size(); ++i) spec.attention_names[i] = types[i] == "linear_attention" ? "linear_attn" : "self_attn";
  spec.skipped_checkpoint_prefixes = {"mtp."};  // the multi-token-prediction head
  spec.make_attention = [types, shape](const DecoderSpec& s, int64_t layer,
                                       const at::TensorOptions& o) -> std::unique_ptr<AttentionLayer> {
    if (types[static_cast<size_t>(layer)] != "linear_attention") return nullptr;
    return std::make_unique<GatedDeltaNet>(s.hidden_size, shape, o);
  };
  return spec;
}

}  // namespace

Architecture qwen3_next_architecture() {
  Architecture arch;
  arch.model_type = "qwen3_next";
  arch.hf_class = "Qwen3NextForCausalLM";
  arch.features = "3 Gated DeltaNet : 1 gated-attention layers, (1 + w) RMSNorms, partial rotary, softmax MoE with a "
                  "gated shared expert";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_qwen3_next_family(c, /*grouped_projections=*/true);
    read_qwen_moe(c, spec, /*default_norm_topk_prob=*/true);
    spec.moe->shared_expert_intermediate = c.check_int(
        "shared_expert_intermediate_size", c.get_int("shared_expert_intermediate_size", 512), 0, hf::kMaxWidth);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "qwen3_next", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "full_attention_interval": 2, "linear_num_key_heads": 2, "linear_num_value_heads": 4,
    "linear_key_head_dim": 8, "linear_value_head_dim": 8, "linear_conv_kernel_dim": 4, "num_experts": 4,
    "num_experts_per_tok": 2, "moe_intermediate_size": 16, "shared_expert_intermediate_size": 16, "mlp_only_layers": [0]})";
  return arch;
}

Architecture qwen3_5_text_architecture() {
  Architecture arch;
  arch.model_type = "qwen3_5_text";
  arch.hf_class = "Qwen3_5ForCausalLM";
  arch.features = "3 Gated DeltaNet : 1 gated-attention layers, (1 + w) RMSNorms, partial rotary, dense SwiGLU";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    return std::make_unique<DecoderLM>(config, read_qwen3_next_family(c, /*grouped_projections=*/false), options);
  };
  arch.tiny_config_json = R"({"model_type": "qwen3_5_text", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "full_attention_interval": 2, "linear_num_key_heads": 2, "linear_num_value_heads": 4,
    "linear_key_head_dim": 8, "linear_value_head_dim": 8, "linear_conv_kernel_dim": 4})";
  return arch;
}

Architecture qwen3_5_moe_text_architecture() {
  Architecture arch;
  arch.model_type = "qwen3_5_moe_text";
  arch.hf_class = "Qwen3_5MoeForCausalLM";
  arch.features = "3 Gated DeltaNet : 1 gated-attention layers, (1 + w) RMSNorms, partial rotary, softmax MoE on every "
                  "layer with a gated shared expert";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_qwen3_next_family(c, /*grouped_projections=*/false);
    read_qwen_moe(c, spec, /*default_norm_topk_prob=*/true);
    spec.moe->shared_expert_intermediate = c.check_int(
        "shared_expert_intermediate_size", c.get_int("shared_expert_intermediate_size", 512), 0, hf::kMaxWidth);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "qwen3_5_moe_text", "vocab_size": 96, "hidden_size": 32,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "full_attention_interval": 2, "linear_num_key_heads": 2, "linear_num_value_heads": 4,
    "linear_key_head_dim": 8, "linear_value_head_dim": 8, "linear_conv_kernel_dim": 4, "num_experts": 4,
    "num_experts_per_tok": 2, "moe_intermediate_size": 16, "shared_expert_intermediate_size": 16})";
  return arch;
}

}  // namespace automodel::models
