// Falcon (7B/40B/180B and their fine-tunes): LayerNorms with biases, one fused query_key_value
// laid out three ways (multi-query [q heads | k | v]; per head [q | k | v]; Falcon-40B's
// new_decoder_architecture: per kv group [q x H/KV | k | v]), rope, a plain GELU MLP, and
// attention and MLP in parallel (one shared LayerNorm, or ln_attn + ln_mlp) or in sequence.
// ALiBi checkpoints (Falcon-RW) are rejected. Falcon3 ships as model_type llama.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture falcon_architecture() {
  Architecture arch;
  arch.model_type = "falcon";
  arch.hf_class = "FalconForCausalLM";
  arch.features = "fused query_key_value (multi-query, per head, or per kv group), parallel attention + MLP with one or "
                  "two LayerNorms, plain GELU MLP";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    reject_unsupported(c, {"alibi"});
    ConfigDefaults defaults;
    defaults.eps_key = "layer_norm_epsilon";
    defaults.norm_eps = 1e-5;
    defaults.act_key = "activation";
    defaults.act = "gelu";
    defaults.tie_word_embeddings = true;
    auto spec = read_decoder_spec(c, defaults);
    c.check_divisible("hidden_size", spec.hidden_size, "num_attention_heads", spec.num_heads);
    spec.head_dim = spec.hidden_size / spec.num_heads;
    spec.padding_idx.reset();  // Falcon's embedding has no padding row
    spec.norm.kind = NormSpec::Kind::kLayerNorm;
    const bool bias = c.get_bool("bias", false);
    spec.qkv_bias = spec.o_bias = bias;
    const auto ffn = c.has("ffn_hidden_size")
                         ? c.check_int("ffn_hidden_size", c.get_int("ffn_hidden_size"), 1, hf::kMaxWidth)
                         : 4 * spec.hidden_size;
    spec.intermediate_size = ffn;
    spec.mlp = MlpSpec{MlpSpec::Kind::kPlain, MlpNames{"", "dense_h_to_4h", "dense_4h_to_h", ""}, spec.mlp.act, bias};
    const bool new_architecture = c.get_bool("new_decoder_architecture", false);
    auto& n = spec.names;
    n.body = "transformer", n.embed = "word_embeddings", n.layers = "h", n.final_norm = "ln_f";
    n.attention = "self_attention", n.qkv = "query_key_value", n.o = "dense";
    n.attn_in_norm = "input_layernorm", n.mlp_in_norm = "";
    if (new_architecture) {
      spec.num_kv_heads = c.has("num_kv_heads")
                              ? c.check_int("num_kv_heads", c.get_int("num_kv_heads"), 1, spec.num_heads)
                              : spec.num_heads;
      c.check_divisible("num_attention_heads", spec.num_heads, "num_kv_heads", spec.num_kv_heads);
      spec.qkv_layout = QkvLayout::kPerKvGroup;
      spec.parallel_residual = true;
      auto norms = c.has("num_ln_in_parallel_attn")
                       ? c.check_int("num_ln_in_parallel_attn", c.get_int("num_ln_in_parallel_attn"), 1, 2)
                       : 2;
      if (norms == 2) n.attn_in_norm = "ln_attn", n.mlp_in_norm = "ln_mlp";
    } else {
      const bool multi_query = c.get_bool("multi_query", true);
      spec.num_kv_heads = multi_query ? 1 : spec.num_heads;
      spec.qkv_layout = multi_query ? QkvLayout::kConcat : QkvLayout::kPerKvGroup;
      spec.parallel_residual = c.get_bool("parallel_attn", true);
      if (!spec.parallel_residual) n.mlp_in_norm = "post_attention_layernorm";
    }
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "falcon", "vocab_size": 96, "hidden_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_kv_heads": 2, "new_decoder_architecture": true, "bias": false,
    "layer_norm_epsilon": 1e-5, "max_position_embeddings": 64})";
  return arch;
}

}  // namespace automodel::models
