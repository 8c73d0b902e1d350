// Gemma (v1): GeGLU MLP, (1 + w) RMSNorm, embeddings scaled by sqrt(hidden_size), tied head.
#include <cmath>

#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture gemma_architecture() {
  Architecture arch;
  arch.model_type = "gemma";
  arch.features = "(1 + w) RMSNorm, GeGLU, sqrt(hidden) embedding scale, tied head";
  arch.hf_class = "GemmaForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    reject_unsupported(c, {"use_bidirectional_attention", "attn_logit_softcapping", "final_logit_softcapping"});
    ConfigDefaults defaults;
    defaults.pad_token_id = 0;
    auto spec = read_decoder_spec(c, defaults);
    // Real Gemma configs carry hidden_act "gelu" but hidden_activation "gelu_pytorch_tanh".
    auto act_key = c.has("hidden_activation") ? "hidden_activation" : "hidden_act";
    spec.mlp.act = parse_activation(c.get_string(act_key, "gelu_pytorch_tanh"), c.where(act_key));
    spec.norm.unit_offset = true;
    spec.embedding_scale = std::sqrt(static_cast<double>(spec.hidden_size));
    spec.embedding_scale_in_dtype = true;
    spec.tie_word_embeddings = c.get_bool("tie_word_embeddings", true);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "gemma", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16,
    "rms_norm_eps": 1e-6, "max_position_embeddings": 64, "hidden_act": "gelu_pytorch_tanh"})";
  return arch;
}

}  // namespace automodel::models
