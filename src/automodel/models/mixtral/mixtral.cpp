// Mixtral: Mistral attention with a top-k routed mixture of SwiGLU experts in every layer.
#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture mixtral_architecture() {
  Architecture arch;
  arch.model_type = "mixtral";
  arch.features = "top-k softmax MoE in every layer, router aux loss, sliding window";
  arch.hf_class = "MixtralForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    spec.sliding_window.assign(spec.num_layers, read_sliding_window(c));
    // router_jitter_noise only perturbs routing in HF's training mode; training will reject it
    // explicitly until implemented, forward/eval are exact without it.
    MoeOptions moe;
    moe.num_experts = c.check_int("num_local_experts", c.get_int("num_local_experts"), 1, hf::kMaxExperts);
    moe.top_k = c.check_int("num_experts_per_tok", c.get_int("num_experts_per_tok"), 1, moe.num_experts);
    moe.expert_intermediate = spec.intermediate_size;
    moe.expert.names = {"w1", "w3", "w2", ""};
    moe.expert.act = spec.mlp.act;
    if (c.get_bool("output_router_logits", false))
      moe.aux_loss_coef = c.check_finite("router_aux_loss_coef", c.get_double("router_aux_loss_coef", 0.001));
    spec.moe = moe;
    spec.names.mlp = "block_sparse_moe";
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "mixtral", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 64, "rope_theta": 1000000.0, "num_local_experts": 4, "num_experts_per_tok": 2,
    "sliding_window": null})";
  return arch;
}

}  // namespace automodel::models
