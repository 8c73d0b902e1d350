// Granite (3.x): Llama with scalar multipliers on the embeddings, each residual branch, the
// attention scores (replacing head_dim^-0.5) and the logits (divided by logits_scaling).
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/granite/granite_family.h"
#include "automodel/models/registry.h"

namespace automodel::models {

void read_granite_multipliers(const hf::JsonFields& c, DecoderSpec& spec) {
  spec.embedding_scale = c.check_positive("embedding_multiplier", c.get_double("embedding_multiplier", 1.0));
  spec.residual_scale = c.check_positive("residual_multiplier", c.get_double("residual_multiplier", 1.0));
  spec.attention_scale = c.check_positive("attention_multiplier", c.get_double("attention_multiplier", 1.0));
  spec.logit_scale = 1.0 / c.check_positive("logits_scaling", c.get_double("logits_scaling", 1.0));
}

Architecture granite_architecture() {
  Architecture arch;
  arch.model_type = "granite";
  arch.features = "embedding, residual, attention and logit multipliers";
  arch.hf_class = "GraniteForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    read_granite_multipliers(c, spec);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "granite", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "embedding_multiplier": 12.0, "residual_multiplier": 0.22,
    "attention_multiplier": 0.0078125, "logits_scaling": 8.0, "tie_word_embeddings": true})";
  return arch;
}

}  // namespace automodel::models
