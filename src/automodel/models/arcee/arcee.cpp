// Arcee (AFM): Llama with a plain up -> relu^2 -> down MLP.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture arcee_architecture() {
  Architecture arch;
  arch.model_type = "arcee";
  arch.features = "plain relu^2 MLP (up/down)";
  arch.hf_class = "ArceeForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.norm_eps = 1e-5;
    defaults.act = "relu2";
    auto spec = read_decoder_spec(c, defaults);
    spec.mlp.kind = MlpSpec::Kind::kPlain;
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "arcee", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 64})";
  return arch;
}

}  // namespace automodel::models
