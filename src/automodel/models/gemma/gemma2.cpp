// Gemma-2: Gemma with sandwich norms (both sides of each branch), alternating sliding/full
// layers, attention scale query_pre_attn_scalar^-0.5, softcapped attention scores and logits.
// Gemma-3 (text): no attention softcap, per-head (1 + w) q/k norms, 5 sliding : 1 full, and a
// separate rope (rope_local_base_freq) on the sliding layers.
#include <cmath>

#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/gemma/gemma_family.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

DecoderSpec read_gemma2_family_spec(const hf::JsonFields& c, int64_t default_pattern) {
  auto spec = read_gemma_sandwich_spec(c);
  spec.norm.unit_offset = true;
  auto scalar = c.check_positive("query_pre_attn_scalar", c.get_double("query_pre_attn_scalar", 256.0));
  spec.attention_scale = 1.0 / std::sqrt(scalar);
  auto pattern = c.check_int("sliding_window_pattern", c.get_int("sliding_window_pattern", default_pattern), 1,
                             hf::kMaxLayers);
  auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, every_nth_layer_full(pattern));
  set_sliding_layers(spec, types, read_sliding_window(c, 4096));
  return spec;
}

}  // namespace

Architecture gemma2_architecture() {
  Architecture arch;
  arch.model_type = "gemma2";
  arch.features = "sandwich (1 + w) RMSNorms, alternating sliding/full, attention and final logit softcaps, query_pre_attn_scalar";
  arch.hf_class = "Gemma2ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    reject_unsupported(c, {"use_bidirectional_attention"});
    auto spec = read_gemma2_family_spec(c, 2);
    spec.attention_softcap = read_softcap(c, "attn_logit_softcapping", 50.0);
    spec.final_softcap = read_softcap(c, "final_logit_softcapping", 30.0);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "gemma2", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "sliding_window": 4, "query_pre_attn_scalar": 16,
    "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0})";
  return arch;
}

Architecture gemma3_text_architecture() {
  Architecture arch;
  arch.model_type = "gemma3_text";
  arch.features = "sandwich norms, per-head q/k norms, 5 sliding : 1 full, separate rope per layer type";
  arch.hf_class = "Gemma3ForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    reject_unsupported(c, {"use_bidirectional_attention"});
    auto spec = read_gemma2_family_spec(c, 6);
    spec.qk_norm = QkNorm::kPerHead;
    spec.final_softcap = read_softcap(c, "final_logit_softcapping", std::nullopt);
    read_per_layer_type_ropes(c, spec, c.check_positive("rope_local_base_freq", c.get_double("rope_local_base_freq", 10000.0)),
                              1000000.0);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "gemma3_text", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "sliding_window": 4, "sliding_window_pattern": 3, "query_pre_attn_scalar": 16,
    "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0})";
  return arch;
}

}  // namespace automodel::models
