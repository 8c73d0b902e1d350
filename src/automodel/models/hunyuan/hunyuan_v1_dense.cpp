// HunYuan (dense v1): Llama with per-head q/k RMSNorm applied after rope (query_layernorm,
// key_layernorm).
#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture hunyuan_v1_dense_architecture() {
  Architecture arch;
  arch.model_type = "hunyuan_v1_dense";
  arch.features = "per-head q/k RMSNorm after rope";
  arch.hf_class = "HunYuanDenseV1ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.norm_eps = 1e-5;
    defaults.pad_token_id = 0;
    auto spec = read_decoder_spec(c, defaults);
    // HunYuan's NTK-alpha rope (rope_scaling {type: dynamic, alpha}) changes the base itself.
    for (const auto* key : {"rope_scaling", "rope_parameters"})
      if (c.has(key) && c.child(key).has("alpha"))
        throw NotSupportedError(fmt::format("[config] {}.alpha (HunYuan's NTK-alpha rope) is not supported yet",
                                            c.where(key)));
    spec.qk_norm = QkNorm::kPerHead;
    spec.qk_norm_after_rope = true;
    spec.names.q_norm = "query_layernorm";
    spec.names.k_norm = "key_layernorm";
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "hunyuan_v1_dense", "vocab_size": 96, "hidden_size": 32,
    "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 8, "rms_norm_eps": 1e-5, "max_position_embeddings": 64})";
  return arch;
}

}  // namespace automodel::models
