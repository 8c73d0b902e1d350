// Cohere (Command-R): one bias-free LayerNorm feeding attention and MLP in parallel,
// interleaved-pair rope, logits x logit_scale, tied head. Cohere2 (Command-R7B/A): 3 sliding :
// 1 full layers, rope only on the sliding ones.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

DecoderSpec read_cohere_spec(const hf::JsonFields& c, double default_theta) {
  ConfigDefaults defaults;
  defaults.eps_key = "layer_norm_eps";
  defaults.norm_eps = 1e-5;
  defaults.tie_word_embeddings = true;
  defaults.rope_theta = default_theta;
  defaults.pad_token_id = 0;
  auto spec = read_decoder_spec(c, defaults);
  spec.norm.kind = NormSpec::Kind::kLayerNorm;
  spec.norm.layer_norm.bias = false;
  spec.parallel_residual = true;
  spec.names.mlp_in_norm = "";
  spec.rope_interleaved = true;
  spec.logit_scale = c.check_positive("logit_scale", c.get_double("logit_scale", 0.0625));
  return spec;
}

}  // namespace

Architecture cohere_architecture() {
  Architecture arch;
  arch.model_type = "cohere";
  arch.features = "parallel attention + MLP, bias-free LayerNorm, interleaved rope, logit scale";
  arch.hf_class = "CohereForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    reject_unsupported(c, {"use_qk_norm"});  // per-head [heads, head_dim] norm weights
    return std::make_unique<DecoderLM>(config, read_cohere_spec(c, 500000.0), options);
  };
  arch.tiny_config_json = R"({"model_type": "cohere", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "layer_norm_eps": 1e-5,
    "max_position_embeddings": 64, "logit_scale": 0.25})";
  return arch;
}

Architecture cohere2_architecture() {
  Architecture arch;
  arch.model_type = "cohere2";
  arch.features = "Cohere with 3 sliding : 1 full layers, NoPE on full layers";
  arch.hf_class = "Cohere2ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_cohere_spec(c, 10000.0);
    auto pattern = c.check_int("sliding_window_pattern", c.get_int("sliding_window_pattern", 4), 1, hf::kMaxLayers);
    auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, every_nth_layer_full(pattern));
    set_sliding_layers(spec, types, read_sliding_window(c, 4096));
    spec.nope_layers.assign(types.size(), false);
    for (size_t i = 0; i < types.size(); ++i) spec.nope_layers[i] = !spec.sliding_window[i].has_value();
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "cohere2", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "layer_norm_eps": 1e-5,
    "max_position_embeddings": 64, "logit_scale": 0.25, "sliding_window": 4, "sliding_window_pattern": 2})";
  return arch;
}

}  // namespace automodel::models
