// DeepSeek-V3 (also Kimi-K2 and other checkpoints of this model_type): multi-head latent
// attention (low-rank q and kv projections through RMSNorms; rope on a separate 64-dim slice
// whose key is shared by all heads) and sigmoid-routed MoE with shared experts after the first
// dense layers. DeepSeek-V2 (V2, V2.5, V2-Lite): the same MLA (V2-Lite without q_lora_rank) with
// a softmax router, optionally limited to groups; GLM-4.7-Flash: V3's with GLM's sizes.
#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>

#include <cmath>

#include "automodel/common/error.h"
#include "automodel/models/common/decoder_layer.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/moe_config.h"
#include "automodel/models/common/rope.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

struct MlaShape {
  std::optional<int64_t> q_lora_rank;  // nullopt: a single q_proj
  int64_t kv_lora_rank = 0, qk_nope_dim = 0, qk_rope_dim = 0, v_dim = 0;
  bool rope_interleave = true;
  double scale = 0;
};

class MlaAttention : public AttentionLayer {
 public:
  MlaAttention(const DecoderSpec& s, const MlaShape& m, const at::TensorOptions& o) : s_(s), m_(m) {
    auto linear = [&o](int64_t in, int64_t out, bool bias) -> std::unique_ptr<LinearLayer> {
      return std::make_unique<Linear>(in, out, bias, o);
    };
    // The low-rank norms use the class default eps, not the config's (as HF does).
    NormSpec latent_norm;
    latent_norm.eps = 1e-6;
    const int64_t qk_dim = m.qk_nope_dim + m.qk_rope_dim;
    if (m.q_lora_rank) {
      q_a_proj_ = add_module("q_a_proj", linear(s.hidden_size, *m.q_lora_rank, s.qkv_bias));
      q_a_layernorm_ = add_module("q_a_layernorm", make_norm(latent_norm, *m.q_lora_rank, o));
      q_b_proj_ = add_module("q_b_proj", linear(*m.q_lora_rank, s.num_heads * qk_dim, false));
    } else {
      q_proj_ = add_module("q_proj", linear(s.hidden_size, s.num_heads * qk_dim, false));
    }
    kv_a_proj_ = add_module("kv_a_proj_with_mqa", linear(s.hidden_size, m.kv_lora_rank + m.qk_rope_dim, s.qkv_bias));
    kv_a_layernorm_ = add_module("kv_a_layernorm", make_norm(latent_norm, m.kv_lora_rank, o));
    kv_b_proj_ = add_module("kv_b_proj", linear(m.kv_lora_rank, s.num_heads * (m.qk_nope_dim + m.v_dim), false));
    o_proj_ = add_module("o_proj", linear(s.num_heads * m.v_dim, s.hidden_size, s.o_bias));
  }

  at::Tensor forward(const at::Tensor& x, const LayerPositions& positions, const at::Tensor& mask,
                     KVCache::Layer* cache) const override {
    const int64_t B = x.size(0), T = x.size(1), H = s_.num_heads;
    auto q = q_proj_ ? q_proj_->forward(x) : q_b_proj_->forward(q_a_layernorm_->forward(q_a_proj_->forward(x)));
    q = q.view({B, T, H, m_.qk_nope_dim + m_.qk_rope_dim}).transpose(1, 2);  // (B, H, T, qk)
    auto q_parts = q.split_with_sizes({m_.qk_nope_dim, m_.qk_rope_dim}, -1);
    auto latent = kv_a_proj_->forward(x).split_with_sizes({m_.kv_lora_rank, m_.qk_rope_dim}, -1);
    auto k_rot = latent[1].view({B, 1, T, m_.qk_rope_dim});
    auto q_rot = rotate(q_parts[1], positions), k_rot_rotated = rotate(k_rot, positions);
    auto kv = kv_b_proj_->forward(kv_a_layernorm_->forward(latent[0]))
                  .view({B, T, H, m_.qk_nope_dim + m_.v_dim})
                  .transpose(1, 2);
    auto kv_parts = kv.split_with_sizes({m_.qk_nope_dim, m_.v_dim}, -1);
    auto k = at::cat({kv_parts[0], k_rot_rotated.expand({B, H, T, m_.qk_rope_dim})}, -1);
    auto v = kv_parts[1];
    q = at::cat({q_parts[0], q_rot}, -1);
    append_to_cache(cache, k, v);
    auto out = scaled_attention(q, k, v.contiguous(), mask, m_.scale);  // (B, H, T, v_dim)
    return o_proj_->forward(out.transpose(1, 2).reshape({B, T, H * m_.v_dim}));
  }

 private:
  // DeepSeek's interleaved rope: pairs (2i, 2i+1) rotated by frequency i, output as [evens | odds]
  // (the same permutation of q and k, so the scores equal a pairwise rope's).
  at::Tensor rotate(const at::Tensor& x, const LayerPositions& p) const {
    if (!m_.rope_interleave) return apply_rotary(x, p.cos, p.sin);
    auto halves = x.unflatten(-1, {m_.qk_rope_dim / 2, 2}).transpose(-1, -2).flatten(-2);
    return apply_rotary(halves, p.cos, p.sin);
  }

  const DecoderSpec& s_;
  MlaShape m_;
  Slot<LinearLayer> q_proj_, q_a_proj_, q_b_proj_, kv_a_proj_, kv_b_proj_, o_proj_;
  Slot<Norm> q_a_layernorm_, kv_a_layernorm_;
};

// Reads the MLA sizes (HF defaults in `d`) and the decoder spec whose rope covers the rope slice,
// and installs MLA as every layer's attention.
DecoderSpec read_mla_spec(const hf::JsonFields& c, const MlaShape& d, double norm_eps) {
  MlaShape m;
  if (c.has("q_lora_rank"))
    m.q_lora_rank = c.check_int("q_lora_rank", c.get_int("q_lora_rank"), 1, hf::kMaxWidth);
  else if (!c.present("q_lora_rank"))
    m.q_lora_rank = d.q_lora_rank;
  m.kv_lora_rank = c.check_int("kv_lora_rank", c.get_int("kv_lora_rank", d.kv_lora_rank), 1, hf::kMaxWidth);
  m.qk_nope_dim = c.check_int("qk_nope_head_dim", c.get_int("qk_nope_head_dim", d.qk_nope_dim), 0, hf::kMaxWidth);
  m.qk_rope_dim = c.check_int("qk_rope_head_dim", c.get_int("qk_rope_head_dim", d.qk_rope_dim), 2, hf::kMaxWidth);
  m.v_dim = c.check_int("v_head_dim", c.get_int("v_head_dim", d.v_dim), 1, hf::kMaxWidth);
  m.rope_interleave = c.get_bool("rope_interleave", true);
  // HF forces head_dim to the rope slice: the rotary tables cover qk_rope_head_dim.
  ConfigDefaults defaults;
  defaults.head_dim = m.qk_rope_dim;
  defaults.norm_eps = norm_eps;
  auto spec = read_decoder_spec(c, defaults);
  AM_CHECK(spec.rope.dim == m.qk_rope_dim, "[config] {}: head_dim {} must equal qk_rope_head_dim {} (the rope slice)",
           c.label(), spec.head_dim, m.qk_rope_dim);
  m.scale = 1.0 / std::sqrt(static_cast<double>(m.qk_nope_dim + m.qk_rope_dim));
  if (spec.rope.type != "default" && spec.rope.mscale_all_dim && *spec.rope.mscale_all_dim != 0) {
    const double mscale = yarn_mscale(spec.rope.factor.value_or(1.0), *spec.rope.mscale_all_dim);
    m.scale *= mscale * mscale;
  }
  spec.make_attention = [m](const DecoderSpec& s, int64_t, const at::TensorOptions& o) -> std::unique_ptr<AttentionLayer> {
    return std::make_unique<MlaAttention>(s, m, o);
  };
  return spec;
}

// DeepSeek-V2's and V3's HF defaults (q_lora_rank 1536, kv_lora_rank 512, nope 128, rope 64, v 128).
const MlaShape kDeepSeekMla{1536, 512, 128, 64, 128};

}  // namespace

Architecture deepseek_v3_architecture() {
  Architecture arch;
  arch.model_type = "deepseek_v3";
  arch.hf_class = "DeepseekV3ForCausalLM";
  arch.features = "multi-head latent attention (low-rank q/kv, shared rope key), sigmoid-routed MoE with correction "
                  "bias, grouped top-k and shared experts after first_k_dense_replace";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_mla_spec(c, kDeepSeekMla, 1e-6);
    DeepSeekMoeDefaults moe;
    moe.num_groups = 8;
    moe.top_k_groups = 4;
    moe.routed_scaling_factor = 2.5;
    moe.first_k_dense_replace = 3;
    read_deepseek_moe(c, spec, moe);
    skip_multi_token_prediction_layers(c, spec);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "deepseek_v3", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "q_lora_rank": 16, "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 8,
    "v_head_dim": 8, "n_routed_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 16,
    "n_shared_experts": 1, "n_group": 2, "topk_group": 1, "first_k_dense_replace": 1})";
  return arch;
}

Architecture deepseek_v2_architecture() {
  Architecture arch;
  arch.model_type = "deepseek_v2";
  arch.hf_class = "DeepseekV2ForCausalLM";
  arch.features = "multi-head latent attention (q_lora_rank optional), softmax-routed MoE (greedy or group-limited, "
                  "routed_scaling_factor, no renormalisation) with shared experts after first_k_dense_replace";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_mla_spec(c, kDeepSeekMla, 1e-6);
    DeepSeekMoeDefaults moe;
    moe.first_k_dense_replace = 0;
    moe.v2_routing = true;
    read_deepseek_moe(c, spec, moe);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "deepseek_v2", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "q_lora_rank": null, "kv_lora_rank": 16, "qk_nope_head_dim": 8,
    "qk_rope_head_dim": 8, "v_head_dim": 8, "n_routed_experts": 8, "num_experts_per_tok": 2,
    "moe_intermediate_size": 16, "n_shared_experts": 2, "first_k_dense_replace": 1, "topk_method":
    "group_limited_greedy", "n_group": 4, "topk_group": 2, "routed_scaling_factor": 1.5})";
  return arch;
}

// GLM-4.7-Flash (glm4_moe_lite): DeepSeek-V3's MLA and sigmoid routing with GLM's sizes; which
// layers are MoE comes from mlp_layer_types ("dense"/"sparse"; by default all but the first).
Architecture glm4_moe_lite_architecture() {
  Architecture arch;
  arch.model_type = "glm4_moe_lite";
  arch.hf_class = "Glm4MoeLiteForCausalLM";
  arch.features = "multi-head latent attention, sigmoid-routed MoE with correction bias and shared experts per "
                  "mlp_layer_types";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    MlaShape defaults;
    defaults.q_lora_rank = 768;
    defaults.kv_lora_rank = 512;
    defaults.qk_nope_dim = 192;
    defaults.qk_rope_dim = 64;
    defaults.v_dim = 256;
    auto spec = read_mla_spec(c, defaults, 1e-5);
    DeepSeekMoeDefaults moe;
    moe.routed_scaling_factor = 1.8;
    read_deepseek_moe(c, spec, moe);
    if (c.has("mlp_layer_types")) {
      auto types = c.get_string_list("mlp_layer_types");
      AM_CHECK(static_cast<int64_t>(types.size()) == spec.num_layers,
               "[config] {}: expected {} entries (num_hidden_layers), found {}", c.where("mlp_layer_types"),
               spec.num_layers, types.size());
      for (size_t i = 0; i < types.size(); ++i) {
        AM_CHECK(types[i] == "dense" || types[i] == "sparse", "[config] {}: entry {} is '{}', expected dense or sparse",
                 c.where("mlp_layer_types"), i, types[i]);
        spec.moe_layers[i] = types[i] == "sparse";
      }
    }
    skip_multi_token_prediction_layers(c, spec);
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "glm4_moe_lite", "vocab_size": 96, "hidden_size": 32,
    "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
    "rms_norm_eps": 1e-5, "max_position_embeddings": 64, "q_lora_rank": 16, "kv_lora_rank": 16,
    "qk_nope_head_dim": 8, "qk_rope_head_dim": 8, "v_head_dim": 8, "n_routed_experts": 4, "num_experts_per_tok": 2,
    "moe_intermediate_size": 16, "n_shared_experts": 1})";
  return arch;
}

}  // namespace automodel::models
