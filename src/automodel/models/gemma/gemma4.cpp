// Gemma 4 (text; the language model of Gemma 4 12B/31B checkpoints): Gemma-3's sandwich norms and
// 5 sliding : 1 full layers (the last always full), with plain-weight RMSNorms scaled in fp32,
// attention scale 1 (q, k and an unweighted v are RMS-normalised per head), full-attention layers
// with their own head size and kv heads (`per_layer_config`, or `global_head_dim` /
// `num_global_key_value_heads`), K reused as V there (`attention_k_eq_v`), proportional rope on
// them, and a `layer_scalar` on each layer's output. The 26B-A4B's MoE block runs beside each
// layer's MLP. E2B/E4B: per-layer input embeddings, and the last `num_kv_shared_layers` layers
// attend with the keys/values of the last earlier layer of their type (with MLPs twice as wide
// under `use_double_wide_mlp`).
#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/topk.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/models/common/decoder_layer.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/moe.h"
#include "automodel/models/common/rope.h"
#include "automodel/models/gemma/gemma_family.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

struct LayerShape {
  int64_t head_dim = 0, kv_heads = 0;
  bool sliding = false, k_as_v = false;
  bool kv_shared = false;  // attends with an earlier layer's keys/values: no k/v projections
};

class Gemma4Attention : public AttentionLayer {
 public:
  Gemma4Attention(const DecoderSpec& s, const LayerShape& shape, const at::TensorOptions& o)
      : heads_(s.num_heads), shape_(shape), eps_(s.norm.eps) {
    auto linear = [&](int64_t in, int64_t out) -> std::unique_ptr<LinearLayer> {
      return std::make_unique<Linear>(in, out, s.qkv_bias, o);
    };
    const int64_t D = shape.head_dim;
    q_proj_ = add_module("q_proj", linear(s.hidden_size, heads_ * D));  // HF's registration order
    q_norm_ = add_module("q_norm", make_norm(s.norm, D, o));
    if (!shape.kv_shared) {
      k_norm_ = add_module("k_norm", make_norm(s.norm, D, o));
      k_proj_ = add_module("k_proj", linear(s.hidden_size, shape.kv_heads * D));
      if (!shape.k_as_v) v_proj_ = add_module("v_proj", linear(s.hidden_size, shape.kv_heads * D));
    }
    o_proj_ = add_module("o_proj", linear(heads_ * D, s.hidden_size));
  }

  at::Tensor forward(const at::Tensor& x, const LayerPositions& positions, const at::Tensor& mask,
                     KVCache::Layer* cache) const override {
    const int64_t B = x.size(0), T = x.size(1), D = shape_.head_dim;
    auto q = q_norm_->forward(q_proj_->forward(x).view({B, T, heads_, D})).transpose(1, 2);
    q = apply_rotary(q, positions.cos, positions.sin);
    at::Tensor k, v;
    if (shape_.kv_shared) {
      AM_CHECK(cache && cache->shared, "internal: a KV-sharing Gemma 4 layer was called without the shared keys");
      k = cache->k, v = cache->v;
    } else {
      auto k_raw = k_proj_->forward(x).view({B, T, shape_.kv_heads, D});
      auto v_raw = v_proj_ ? v_proj_->forward(x).view({B, T, shape_.kv_heads, D}) : k_raw;  // K as V: before k_norm
      k = apply_rotary(k_norm_->forward(k_raw).transpose(1, 2), positions.cos, positions.sin);
      v = rms_normalized_fp32(v_raw, eps_).to(v_raw.scalar_type()).transpose(1, 2);  // v_norm: no weight
      append_to_cache(cache, k, v);
    }
    auto out = scaled_attention(q, k, v, mask, /*scale=*/1.0);  // q and k are normalised instead
    return o_proj_->forward(out.transpose(1, 2).reshape({B, T, heads_ * D}));
  }

 private:
  int64_t heads_;
  LayerShape shape_;
  double eps_;
  Slot<LinearLayer> q_proj_, k_proj_, v_proj_, o_proj_;
  Slot<Norm> q_norm_, k_norm_;
};

// softmax(proj(rms(x) * scale * H^-0.5)) over the experts, top-k renormalised, times each chosen
// expert's per_expert_scale.
class Gemma4Router : public Module {
 public:
  Gemma4Router(int64_t hidden, int64_t num_experts, int64_t top_k, double eps, const at::TensorOptions& o)
      : hidden_(hidden), top_k_(top_k), eps_(eps) {
    proj_ = add_module<LinearLayer>("proj", std::make_unique<Linear>(hidden, num_experts, false, o));
    scale_ = add_parameter("scale", at::empty({hidden}, o));
    per_expert_scale_ = add_parameter("per_expert_scale", at::empty({num_experts}, o));
  }
  // flat (N, H) -> weights (N, k) fp32, experts (N, k)
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& flat) const {
    auto normed = rms_normalized_fp32(flat, eps_).to(flat.scalar_type());
    auto scaled = normed * *scale_ * std::pow(static_cast<double>(hidden_), -0.5);
    auto probs = at::softmax(proj_->forward(scaled), -1, at::kFloat);
    auto [weights, experts] = at::topk(probs, top_k_, -1);
    weights = weights / weights.sum(-1, true);
    return {weights * per_expert_scale_->index_select(0, experts.reshape({-1})).view(experts.sizes()), experts};
  }

 private:
  int64_t hidden_, top_k_;
  double eps_;
  Slot<LinearLayer> proj_;
  at::Tensor *scale_, *per_expert_scale_;
};

// The layer's feed-forward with the MoE block beside its MLP (registered inline: the layer's own
// names). x is the residual stream: post_1(mlp(pre(x))) + post_2(experts(pre_2(x))), routed on x.
class Gemma4MoeFeedForward : public Mlp {
 public:
  Gemma4MoeFeedForward(const DecoderSpec& s, int64_t mlp_width, int64_t num_experts, int64_t top_k, int64_t width,
                       const at::TensorOptions& o) {
    auto norm = [&](const char* name) { return add_module(name, make_norm(s.norm, s.hidden_size, o)); };
    mlp_ = add_module("mlp", make_mlp(s.hidden_size, mlp_width, s.mlp, o));
    pre_ = norm("pre_feedforward_layernorm");
    router_ = add_module("router", std::make_unique<Gemma4Router>(s.hidden_size, num_experts, top_k, s.norm.eps, o));
    experts_ = add_module("experts", std::make_unique<StackedExperts>(num_experts, s.hidden_size, width, /*gated=*/true,
                                                                      s.mlp.act, o));
    post_1_ = norm("post_feedforward_layernorm_1");
    post_2_ = norm("post_feedforward_layernorm_2");
    pre_2_ = norm("pre_feedforward_layernorm_2");
  }
  at::Tensor forward(const at::Tensor& x) const override {
    auto dense = post_1_->forward(mlp_->forward(pre_->forward(x)));
    auto flat = x.reshape({-1, x.size(-1)});
    auto [weights, experts] = router_->forward(flat);
    auto routed = dispatch_to_experts(*experts_, pre_2_->forward(flat), weights, experts);
    return dense + post_2_->forward(routed.view(x.sizes()));
  }

 private:
  Slot<Mlp> mlp_;
  Slot<Norm> pre_, post_1_, post_2_, pre_2_;
  Slot<Gemma4Router> router_;
  Slot<StackedExperts> experts_;
};

// Rope of one layer type: the config's per-type `rope_parameters` entry, or Gemma 4's default
// (sliding: default theta 1e4; full: proportional, a quarter of the pairs, theta 1e6).
hf::RopeConfig read_rope(const hf::JsonFields& c, const std::string& type, int64_t head_dim) {
  if (c.has("rope_parameters")) return hf::parse_rope_config(c, head_dim, type, type == "full_attention" ? 1e6 : 1e4);
  hf::RopeConfig rope;
  rope.max_position_embeddings =
      c.check_int("max_position_embeddings", c.get_int("max_position_embeddings", 131072), 1, hf::kMaxPositions);
  rope.dim = head_dim;
  rope.v5_semantics = true;
  if (type == "full_attention") rope.type = "proportional", rope.theta = 1e6, rope.proportion = 0.25;
  return rope;
}

// Per-layer input embeddings (E2B/E4B): `hidden_size_per_layer_input` wide per layer (HF's
// default 256 when absent; 0 or null: none), from a table of `vocab_size_per_layer_input` rows.
void read_per_layer_inputs(const hf::JsonFields& c, DecoderSpec& spec) {
  const char* key = "hidden_size_per_layer_input";
  if (c.present(key) && !c.has(key)) return;  // null
  spec.per_layer_input_size = c.check_int(key, c.get_int(key, 256), 0, hf::kMaxWidth);
  if (spec.per_layer_input_size == 0) return;
  const char* vocab = "vocab_size_per_layer_input";
  spec.per_layer_input_vocab = c.get_int(vocab, 262144);
  // Token ids index both tables.
  c.check_int(vocab, spec.per_layer_input_vocab, spec.vocab_size, hf::kMaxVocabSize);
}

// KV sharing (E2B/E4B): each of the last `num_kv_shared_layers` layers attends with the keys and
// values of the last earlier layer of its type, has no k/v projections of its own (a checkpoint's
// are skipped, as HF ignores them) and, with `use_double_wide_mlp`, an MLP twice as wide.
void read_kv_sharing(const hf::JsonFields& c, DecoderSpec& spec, const std::vector<std::string>& types,
                     std::vector<LayerShape>& shapes, const std::string& body) {
  const auto shared = c.check_int("num_kv_shared_layers", c.get_int("num_kv_shared_layers", 0), 0, spec.num_layers - 1);
  if (shared == 0) return;
  const auto first = spec.num_layers - shared;
  const bool wide = c.get_bool("use_double_wide_mlp", false);
  spec.kv_source.assign(static_cast<size_t>(spec.num_layers), std::nullopt);
  for (int64_t i = first; i < spec.num_layers; ++i) {
    const auto at = static_cast<size_t>(i);
    for (int64_t j = first - 1; j >= 0 && !spec.kv_source[at]; --j)
      if (types[static_cast<size_t>(j)] == types[at]) spec.kv_source[at] = j;
    AM_CHECK(spec.kv_source[at].has_value(), "[config] {} = {}: layer {} ({}) shares keys/values, but no earlier layer "
             "of that type computes them", c.where("num_kv_shared_layers"), shared, i, types[at]);
    AM_CHECK(shapes[at].head_dim == shapes[static_cast<size_t>(*spec.kv_source[at])].head_dim &&
                 shapes[at].kv_heads == shapes[static_cast<size_t>(*spec.kv_source[at])].kv_heads,
             "[config] {}: layer {} shares the keys/values of layer {} but has another head size or kv head count",
             c.where("per_layer_config"), i, *spec.kv_source[at]);
    shapes[at].kv_shared = true;
    for (const char* part : {"k_proj", "v_proj", "k_norm", "v_norm"})
      spec.skipped_checkpoint_prefixes.push_back(fmt::format("{}.{}.{}.{}.{}", body, spec.names.layers, i,
                                                             spec.names.attention, part));
  }
  if (wide) {
    spec.intermediate_sizes.assign(static_cast<size_t>(spec.num_layers), spec.intermediate_size);
    for (int64_t i = first; i < spec.num_layers; ++i) spec.intermediate_sizes[static_cast<size_t>(i)] *= 2;
  }
}

}  // namespace

Architecture gemma4_text_architecture() {
  Architecture arch;
  arch.model_type = "gemma4_text";
  arch.hf_class = "Gemma4ForCausalLM";
  arch.features = "sandwich fp32-scaled RMSNorms, 5 sliding : 1 full, full layers with their own head size and kv heads "
                  "(K as V), q/k/v norms with attention scale 1, proportional rope, layer_scalar, MoE block beside "
                  "the MLP (26B-A4B), per-layer input embeddings and KV sharing between layers (E2B/E4B)";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    reject_unsupported(c, {"use_bidirectional_attention"});
    auto spec = read_gemma_sandwich_spec(c);
    spec.norm.scale_in_fp32 = true;  // plain weight (not Gemma 2/3's 1 + w), scaled in fp32
    spec.final_softcap = read_softcap(c, "final_logit_softcapping");
    spec.layer_scalar = true;
    auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, every_nth_layer_full(6));
    types.back() = "full_attention";  // as HF forces it
    set_sliding_layers(spec, types, read_sliding_window(c, 512));
    // Full layers: per_layer_config's overrides (as transformers 5.18 saves them), else
    // global_head_dim and, with attention_k_eq_v, num_global_key_value_heads.
    const bool k_as_v = c.get_bool("attention_k_eq_v", false);
    LayerShape sliding{spec.head_dim, spec.num_kv_heads, true, false};
    LayerShape full{c.check_int("global_head_dim", c.get_int("global_head_dim", 512), 1, hf::kMaxWidth),
                    spec.num_kv_heads, false, k_as_v};
    if (k_as_v && c.has("num_global_key_value_heads"))
      full.kv_heads = c.check_int("num_global_key_value_heads", c.get_int("num_global_key_value_heads"), 1,
                                  spec.num_heads);
    std::vector<LayerShape> shapes;
    for (const auto& type : types) shapes.push_back(type == "full_attention" ? full : sliding);
    if (c.has("per_layer_config")) {
      const auto& overrides = c.raw("per_layer_config");
      AM_CHECK(overrides.is_object(), "[config] {}: expected an object of layer index -> overrides",
               c.where("per_layer_config"));
      for (auto& shape : shapes) shape.head_dim = spec.head_dim, shape.kv_heads = spec.num_kv_heads;
      auto layers = c.child("per_layer_config");
      for (const auto& [key, value] : overrides.items()) {
        auto entry = layers.child(key);
        int64_t i = -1;
        try {
          i = std::stoll(key);
        } catch (const std::exception&) {
        }
        AM_CHECK(i >= 0 && i < spec.num_layers, "[config] {}: expected layer indices below num_hidden_layers ({}), "
                 "found '{}'", c.where("per_layer_config"), spec.num_layers, key);
        auto& shape = shapes[static_cast<size_t>(i)];
        if (entry.has("head_dim")) shape.head_dim = entry.check_int("head_dim", entry.get_int("head_dim"), 1, hf::kMaxWidth);
        if (entry.has("num_key_value_heads"))
          shape.kv_heads = entry.check_int("num_key_value_heads", entry.get_int("num_key_value_heads"), 1, spec.num_heads);
      }
    }
    for (const auto& shape : shapes)
      c.check_divisible("num_attention_heads", spec.num_heads, "num_key_value_heads", shape.kv_heads);
    read_per_layer_inputs(c, spec);
    read_kv_sharing(c, spec, types, shapes, config.composite ? config.composite->body : spec.names.body);
    // Rope per layer type, over that type's head size (every layer of a type has the same one).
    auto head_of = [&](bool is_sliding) {
      for (const auto& s : shapes)
        if (s.sliding == is_sliding) return s.head_dim;
      return spec.head_dim;
    };
    for (const auto& s : shapes)
      AM_CHECK(s.head_dim == head_of(s.sliding), "[config] {}: layers of one attention type must share a head size",
               c.where("per_layer_config"));
    spec.rope = read_rope(c, "full_attention", head_of(false));
    spec.local_rope = read_rope(c, "sliding_attention", head_of(true));
    if (c.get_bool("enable_moe_block", false)) {  // the MoE block beside every layer's MLP
      const auto experts = c.check_int("num_experts", c.get_int("num_experts"), 1, hf::kMaxExperts);
      const auto top_k = c.check_int("top_k_experts", c.get_int("top_k_experts"), 1, experts);
      const auto width = c.check_int("moe_intermediate_size", c.get_int("moe_intermediate_size"), 1, hf::kMaxWidth);
      spec.names.mlp_in_norm = "";  // inside the block: the router reads the residual stream
      spec.make_feed_forward = [experts, top_k, width](const DecoderSpec& s, int64_t layer,
                                                       const at::TensorOptions& o) -> std::unique_ptr<Mlp> {
        const auto mlp_width = s.intermediate_sizes.empty() ? s.intermediate_size
                                                            : s.intermediate_sizes[static_cast<size_t>(layer)];
        return std::make_unique<Gemma4MoeFeedForward>(s, mlp_width, experts, top_k, width, o);
      };
    }
    spec.make_attention = [shapes](const DecoderSpec& s, int64_t layer,
                                   const at::TensorOptions& o) -> std::unique_ptr<AttentionLayer> {
      return std::make_unique<Gemma4Attention>(s, shapes[static_cast<size_t>(layer)], o);
    };
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  // Every switch at once: per-layer inputs, KV sharing with wide MLPs, the MoE block with all 4
  // experts chosen (bf16 rounding then cannot flip routing in the registry's bf16 check; top-k
  // selection is checked against transformers by the gemma4_moe sweep variant).
  arch.tiny_config_json = R"({"model_type": "gemma4_text", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "global_head_dim": 16,
    "num_global_key_value_heads": 1, "attention_k_eq_v": true, "rms_norm_eps": 1e-6, "max_position_embeddings": 64,
    "sliding_window": 4, "final_logit_softcapping": 30.0, "hidden_size_per_layer_input": 8,
    "vocab_size_per_layer_input": 96, "num_kv_shared_layers": 2, "use_double_wide_mlp": true,
    "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
    "enable_moe_block": true, "num_experts": 4, "top_k_experts": 4, "moe_intermediate_size": 16})";
  return arch;
}

}  // namespace automodel::models
