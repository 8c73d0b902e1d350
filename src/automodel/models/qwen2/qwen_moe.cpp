// Qwen2-MoE and Qwen3-MoE: softmax top-k routing over SwiGLU experts on the layers
// decoder_sparse_step/mlp_only_layers select (dense MLP elsewhere); Qwen2-MoE adds a shared
// expert scaled by sigmoid(shared_expert_gate(x)) and q/k/v biases, Qwen3-MoE per-head q/k norms.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/moe_config.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture qwen2_moe_architecture() {
  Architecture arch;
  arch.model_type = "qwen2_moe";
  arch.features = "softmax top-k MoE + sigmoid-gated shared expert, dense layers via mlp_only_layers/decoder_sparse_step, q/k/v biases";
  arch.hf_class = "Qwen2MoeForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    spec.qkv_bias = c.get_bool("qkv_bias", true);
    spec.o_bias = false;
    read_qwen_moe(c, spec);
    spec.moe->shared_expert_intermediate = c.check_int(
        "shared_expert_intermediate_size", c.get_int("shared_expert_intermediate_size"), 0, hf::kMaxWidth);
    if (auto window = c.get_bool("use_sliding_window", false) ? read_sliding_window(c) : std::nullopt) {
      auto last_sliding = c.get_int("max_window_layers", spec.num_layers);
      auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, [&](int64_t i) {
        return (i + 1) % 2 != 0 && i < last_sliding ? "sliding_attention" : "full_attention";
      });
      set_sliding_layers(spec, types, window);
    }
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "qwen2_moe", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 16,
    "shared_expert_intermediate_size": 24, "decoder_sparse_step": 1, "mlp_only_layers": [1]})";
  return arch;
}

Architecture qwen3_moe_architecture() {
  Architecture arch;
  arch.model_type = "qwen3_moe";
  arch.features = "softmax top-k MoE (norm_topk_prob), per-head q/k RMSNorm";
  arch.hf_class = "Qwen3MoeForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    spec.qk_norm = QkNorm::kPerHead;
    read_qwen_moe(c, spec);
    if (c.get_bool("use_sliding_window", false)) spec.sliding_window.assign(spec.num_layers, read_sliding_window(c));
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "qwen3_moe", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 16,
    "norm_topk_prob": true})";
  return arch;
}

}  // namespace automodel::models
