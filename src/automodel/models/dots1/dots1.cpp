// dots.llm1: Qwen3-style attention (per-head q/k norms) with DeepSeek-V3-style sigmoid routing
// and shared experts on every layer from first_k_dense_replace (0 by default).
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/moe_config.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture dots1_architecture() {
  Architecture arch;
  arch.model_type = "dots1";
  arch.hf_class = "Dots1ForCausalLM";
  arch.features = "sigmoid-routed MoE with correction bias and shared experts, per-head q/k RMSNorm";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    spec.qk_norm = QkNorm::kPerHead;
    DeepSeekMoeDefaults defaults;
    defaults.norm_topk_prob = false;
    defaults.first_k_dense_replace = 0;
    defaults.shared_experts.reset();
    read_deepseek_moe(c, spec, defaults);
    if (auto window = read_sliding_window(c, 4096)) {
      auto first_sliding = c.get_int("max_window_layers", 62);
      auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, [&](int64_t i) {
        return i >= first_sliding ? "sliding_attention" : "full_attention";
      });
      set_sliding_layers(spec, types, window);
    }
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "dots1", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "n_routed_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 16,
    "n_shared_experts": 2, "first_k_dense_replace": 1})";
  return arch;
}

}  // namespace automodel::models
