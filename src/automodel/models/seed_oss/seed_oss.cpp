// Seed-OSS: Llama with q/k/v biases (attention_bias, on by default) and a separate switch for
// the output projection's (attention_out_bias).
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture seed_oss_architecture() {
  Architecture arch;
  arch.model_type = "seed_oss";
  arch.features = "q/k/v biases, separate output-projection bias switch";
  arch.hf_class = "SeedOssForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.head_dim = 128;
    defaults.pad_token_id = 1;
    auto spec = read_decoder_spec(c, defaults);
    spec.qkv_bias = c.get_bool("attention_bias", true);
    spec.o_bias = c.get_bool("attention_out_bias", false);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "seed_oss", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "attention_bias": true, "attention_out_bias": false})";
  return arch;
}

}  // namespace automodel::models
