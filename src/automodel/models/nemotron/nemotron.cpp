// Nemotron (3/4, Minitron): LayerNorm1P ((1 + w) with bias), rope on half of each head, and a
// plain up -> relu^2 -> down MLP.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture nemotron_architecture() {
  Architecture arch;
  arch.model_type = "nemotron";
  arch.features = "LayerNorm1P (1 + w), partial rotary, plain relu^2 MLP";
  arch.hf_class = "NemotronForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.eps_key = "norm_eps";
    defaults.norm_eps = 1e-5;
    defaults.act = "relu2";
    defaults.partial_rotary_factor = 0.5;
    auto spec = read_decoder_spec(c, defaults);
    spec.norm.kind = NormSpec::Kind::kLayerNorm;
    spec.norm.unit_offset = true;
    spec.mlp.kind = MlpSpec::Kind::kPlain;
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "nemotron", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "norm_eps": 1e-5,
    "max_position_embeddings": 64, "partial_rotary_factor": 0.5})";
  return arch;
}

}  // namespace automodel::models
