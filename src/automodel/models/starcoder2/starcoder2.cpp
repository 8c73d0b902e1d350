// StarCoder2: LayerNorm with biases, biases on every projection (use_bias), a plain
// c_fc -> gelu -> c_proj MLP, tied head, sliding window on every layer.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture starcoder2_architecture() {
  Architecture arch;
  arch.model_type = "starcoder2";
  arch.features = "LayerNorm with bias, biases everywhere, plain GELU MLP (c_fc/c_proj), tied head";
  arch.hf_class = "Starcoder2ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.eps_key = "norm_epsilon";
    defaults.norm_eps = 1e-5;
    defaults.act = "gelu_pytorch_tanh";
    defaults.tie_word_embeddings = true;
    auto spec = read_decoder_spec(c, defaults);
    spec.norm.kind = NormSpec::Kind::kLayerNorm;
    spec.qkv_bias = spec.o_bias = spec.mlp.bias = c.get_bool("use_bias", true);
    spec.mlp.kind = MlpSpec::Kind::kPlain;
    spec.mlp.names.up = "c_fc";
    spec.mlp.names.down = "c_proj";
    spec.sliding_window.assign(spec.num_layers, read_sliding_window(c));
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "starcoder2", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "norm_epsilon": 1e-5,
    "max_position_embeddings": 64, "sliding_window": 8})";
  return arch;
}

}  // namespace automodel::models
