// Helium (Kyutai): Llama with interleaved-pair rope and RMSNorm scaled in fp32.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture helium_architecture() {
  Architecture arch;
  arch.model_type = "helium";
  arch.features = "interleaved rope, fp32-scaled RMSNorm";
  arch.hf_class = "HeliumForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.head_dim = 128;
    defaults.norm_eps = 1e-8;
    defaults.rope_theta = 100000.0;
    defaults.pad_token_id = 3;
    auto spec = read_decoder_spec(c, defaults);
    spec.o_bias = false;
    spec.norm.scale_in_fp32 = true;
    spec.rope_interleaved = true;
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "helium", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "rms_norm_eps": 1e-8,
    "max_position_embeddings": 64})";
  return arch;
}

}  // namespace automodel::models
