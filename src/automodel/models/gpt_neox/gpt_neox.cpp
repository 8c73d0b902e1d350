// GPT-NeoX (Pythia): LayerNorm with biases, a fused per-head [q | k | v] query_key_value, rope on
// the first rotary_pct of each head, parallel attention and MLP (each with its own norm), a
// plain MLP, and HF's own names (gpt_neox.embed_in, attention.dense, embed_out).
#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture gpt_neox_architecture() {
  Architecture arch;
  arch.model_type = "gpt_neox";
  arch.features = "fused per-head query_key_value, parallel residual with two LayerNorms, partial rotary, embed_out head";
  arch.hf_class = "GPTNeoXForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.eps_key = "layer_norm_eps";
    defaults.norm_eps = 1e-5;
    defaults.act = "gelu";
    defaults.partial_rotary_factor = c.has("rotary_pct") ? c.get_double("rotary_pct") : 0.25;
    AM_CHECK(defaults.partial_rotary_factor > 0 && defaults.partial_rotary_factor <= 1,
             "[config] {}: expected a number in (0, 1], found {}", c.where("rotary_pct"), defaults.partial_rotary_factor);
    if (c.has("rotary_emb_base")) defaults.rope_theta = c.check_positive("rotary_emb_base", c.get_double("rotary_emb_base"));
    auto spec = read_decoder_spec(c, defaults);
    c.check_divisible("hidden_size", spec.hidden_size, "num_attention_heads", spec.num_heads);
    spec.num_kv_heads = spec.num_heads;
    spec.padding_idx.reset();  // GPT-NeoX's embedding has no padding row
    spec.head_dim = spec.hidden_size / spec.num_heads;
    spec.norm.kind = NormSpec::Kind::kLayerNorm;
    spec.qkv_bias = spec.o_bias = c.get_bool("attention_bias", true);
    spec.mlp = MlpSpec{MlpSpec::Kind::kPlain, MlpNames{"", "dense_h_to_4h", "dense_4h_to_h", ""}, spec.mlp.act, true};
    spec.parallel_residual = c.get_bool("use_parallel_residual", true);
    spec.qkv_layout = QkvLayout::kPerKvGroup;
    spec.names.body = "gpt_neox";
    spec.names.embed = "embed_in";
    spec.names.final_norm = "final_layer_norm";
    spec.names.lm_head = "embed_out";
    spec.names.attention = "attention";
    spec.names.qkv = "query_key_value";
    spec.names.o = "dense";
    spec.ignored_checkpoint_suffixes = {".rotary_emb.inv_freq", ".attention.bias", ".attention.masked_bias"};
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "gpt_neox", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "layer_norm_eps": 1e-5, "max_position_embeddings": 64,
    "rotary_pct": 0.5, "use_parallel_residual": true})";
  return arch;
}

}  // namespace automodel::models
