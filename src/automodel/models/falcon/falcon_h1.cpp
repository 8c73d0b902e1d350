// Falcon-H1: each layer runs a Mamba2 mixer and attention side by side on the same normed input
// and adds them (mamba.*, self_attn.* in the layer), then a SwiGLU MLP ("feed_forward"), with
// muP multipliers throughout: on the embeddings, the logits, the keys (key_multiplier), the
// attention's input and output, the Mamba2 mixer's input, output and each section of its in_proj
// (ssm_multipliers), and the MLP's gate and output (mlp_multipliers).
#include <ATen/TensorOperators.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/mamba2.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

struct BranchScales {
  double attention_in = 1, attention_out = 1, ssm_out = 1;
};

class ParallelHybridMixer : public AttentionLayer {
 public:
  ParallelHybridMixer(const DecoderSpec& s, const Mamba2Shape& shape, const BranchScales& scales,
                      const at::TensorOptions& o)
      : scales_(scales) {
    mamba_ = add_module("mamba", std::make_unique<Mamba2Mixer>(s.hidden_size, shape, o));
    attention_ = add_module("self_attn", std::make_unique<DecoderAttention>(s, o));
  }
  at::Tensor forward(const at::Tensor& x, const LayerPositions& positions, const at::Tensor& mask,
                     KVCache::Layer* cache) const override {
    auto ssm = mamba_->forward(x, positions, mask, cache) * scales_.ssm_out;
    auto attention = attention_->forward(x * scales_.attention_in, positions, mask, cache) * scales_.attention_out;
    return ssm + attention;
  }

 private:
  BranchScales scales_;
  Slot<Mamba2Mixer> mamba_;
  Slot<DecoderAttention> attention_;
};

std::vector<double> read_multipliers(const hf::JsonFields& c, const std::string& key, size_t count) {
  if (!c.has(key)) return std::vector<double>(count, 1.0);
  auto values = c.get_double_list(key);
  AM_CHECK(values.size() == count, "[config] {}: expected {} multipliers, found {}", c.where(key), count, values.size());
  for (double m : values) c.check_positive(key, m);
  return values;
}

Mamba2Shape read_mamba2(const hf::JsonFields& c, int64_t hidden) {
  // mamba_d_ssm: the inner width (HF's default 1024 when absent; null: mamba_expand x hidden_size).
  int64_t inner = c.check_int("mamba_expand", c.get_int("mamba_expand", 2), 1, 64) * hidden;
  if (!c.present("mamba_d_ssm")) inner = 1024;
  else if (c.has("mamba_d_ssm")) inner = c.check_int("mamba_d_ssm", c.get_int("mamba_d_ssm"), 1, hf::kMaxWidth);
  auto s = read_mamba_keys(c, inner, 1e-5);
  s.norm_groups = s.num_groups;
  s.out_bias = c.get_bool("projectors_bias", false);
  s.gated_norm = c.get_bool("mamba_rms_norm", false);
  s.norm_before_gate = c.get_bool("mamba_norm_before_gate", true);
  s.in_scale = c.check_positive("ssm_in_multiplier", c.get_double("ssm_in_multiplier", 1.0));
  auto sections = read_multipliers(c, "ssm_multipliers", 5);
  if (std::any_of(sections.begin(), sections.end(), [](double m) { return m != 1.0; })) s.projection_scales = sections;
  return s;
}

}  // namespace

Architecture falcon_h1_architecture() {
  Architecture arch;
  arch.model_type = "falcon_h1";
  arch.hf_class = "FalconH1ForCausalLM";
  arch.features = "Mamba2 and attention side by side in every layer, SwiGLU MLP, muP multipliers on embeddings, "
                  "logits, keys, each branch, the Mamba2 projection's sections and the MLP";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.norm_eps = 1e-5;
    defaults.pad_token_id = 0;
    auto spec = read_decoder_spec(c, defaults);
    spec.embedding_scale = c.check_positive("embedding_multiplier", c.get_double("embedding_multiplier", 1.0));
    spec.logit_scale = c.check_positive("lm_head_multiplier", c.get_double("lm_head_multiplier", 1.0));
    // Keys x key_multiplier is scores x it: folded into the attention's scale.
    spec.attention_scale = std::pow(static_cast<double>(spec.head_dim), -0.5) *
                           c.check_positive("key_multiplier", c.get_double("key_multiplier", 1.0));
    const auto mlp = read_multipliers(c, "mlp_multipliers", 2);
    spec.mlp.gate_scale = mlp[0], spec.mlp.output_scale = mlp[1];
    auto& n = spec.names;
    n.attention = "";  // the mixer's mamba and self_attn sit in the layer itself
    n.final_norm = "final_layernorm", n.mlp = "feed_forward", n.mlp_in_norm = "pre_ff_layernorm";
    n.feed_forward_first = true;  // HF's registration order: feed_forward, mamba, self_attn
    BranchScales scales;
    scales.attention_in = c.check_positive("attention_in_multiplier", c.get_double("attention_in_multiplier", 1.0));
    scales.attention_out = c.check_positive("attention_out_multiplier", c.get_double("attention_out_multiplier", 1.0));
    scales.ssm_out = c.check_positive("ssm_out_multiplier", c.get_double("ssm_out_multiplier", 1.0));
    const auto mamba = read_mamba2(c, spec.hidden_size);
    spec.make_attention = [mamba, scales](const DecoderSpec& s, int64_t,
                                          const at::TensorOptions& o) -> std::unique_ptr<AttentionLayer> {
      return std::make_unique<ParallelHybridMixer>(s, mamba, scales, o);
    };
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "falcon_h1", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 64, "mamba_d_ssm": 64, "mamba_n_heads": 4, "mamba_n_groups": 2, "mamba_d_state": 8,
    "mamba_d_conv": 4, "mamba_chunk_size": 4, "mamba_rms_norm": true, "mamba_norm_before_gate": false,
    "embedding_multiplier": 5.6, "lm_head_multiplier": 0.04, "key_multiplier": 0.4, "attention_in_multiplier": 1.5,
    "attention_out_multiplier": 0.9, "ssm_in_multiplier": 1.2, "ssm_out_multiplier": 0.3,
    "ssm_multipliers": [0.35, 0.25, 0.5, 0.5, 0.35], "mlp_multipliers": [0.9, 0.6], "tie_word_embeddings": false})";
  return arch;
}

}  // namespace automodel::models
