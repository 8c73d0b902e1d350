#include "automodel/models/common/decoder_layer.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/clamp.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/floor.h>
#include <ATen/ops/log1p.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/sigmoid.h>

#include <cmath>

#include "automodel/common/error.h"
#include "automodel/models/common/rope.h"

namespace automodel::models {

DecoderAttention::DecoderAttention(const DecoderSpec& s, const at::TensorOptions& o) : spec_(s) {
  auto linear = [&o](int64_t in, int64_t out, bool bias) -> std::unique_ptr<LinearLayer> {
    return std::make_unique<Linear>(in, out, bias, o);
  };
  const auto& n = s.names;
  const int64_t q_width = s.num_heads * s.head_dim, kv_width = s.num_kv_heads * s.head_dim;
  auto add_output = [&] { o_proj_ = add_module(n.o, linear(q_width, s.hidden_size, s.o_bias)); };
  if (n.output_first) add_output();
  if (n.qkv.empty()) {
    q_proj_ = add_module(n.q, linear(s.hidden_size, s.attention_output_gate ? 2 * q_width : q_width, s.qkv_bias));
    k_proj_ = add_module(n.k, linear(s.hidden_size, kv_width, s.qkv_bias));
    v_proj_ = add_module(n.v, linear(s.hidden_size, kv_width, s.qkv_bias));
  } else {
    qkv_proj_ = add_module(n.qkv, linear(s.hidden_size, q_width + 2 * kv_width, s.qkv_bias));
  }
  if (!n.output_first) add_output();
  if (s.attention_sinks) sinks_ = add_parameter("sinks", at::empty({s.num_heads}, o));
  if (s.qk_norm == QkNorm::kPerHead || s.qk_norm == QkNorm::kFullWidth) {
    const bool per_head = s.qk_norm == QkNorm::kPerHead;
    q_norm_ = add_module(n.q_norm, make_norm(s.norm, per_head ? s.head_dim : q_width, o));
    k_norm_ = add_module(n.k_norm, make_norm(s.norm, per_head ? s.head_dim : kv_width, o));
  }
  scale_ = s.attention_scale > 0 ? s.attention_scale : 1.0 / std::sqrt(static_cast<double>(s.head_dim));
}

at::Tensor DecoderAttention::forward(const at::Tensor& x, const LayerPositions& positions, const at::Tensor& mask,
                                     KVCache::Layer* cache) const {
  const int64_t B = x.size(0), T = x.size(1), D = spec_.head_dim;
  const int64_t q_width = spec_.num_heads * D, kv_width = spec_.num_kv_heads * D;
  at::Tensor q, k, v;
  if (qkv_proj_ && spec_.qkv_layout == QkvLayout::kPerKvGroup) {
    const int64_t group = spec_.num_heads / spec_.num_kv_heads;
    auto qkv = qkv_proj_->forward(x).view({B, T, spec_.num_kv_heads, group + 2, D});
    q = qkv.narrow(3, 0, group).reshape({B, T, q_width});
    k = qkv.select(3, group).reshape({B, T, kv_width});
    v = qkv.select(3, group + 1).reshape({B, T, kv_width});
  } else if (qkv_proj_) {
    auto qkv = qkv_proj_->forward(x).split_with_sizes({q_width, kv_width, kv_width}, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = q_proj_->forward(x), k = k_proj_->forward(x), v = v_proj_->forward(x);
  }
  at::Tensor gate;
  if (spec_.attention_output_gate) {  // per head [q_h | gate_h]
    auto halves = q.view({B, T, spec_.num_heads, 2 * D}).split(D, -1);
    q = halves[0].reshape({B, T, q_width});
    gate = halves[1].reshape({B, T, q_width});
  }
  if (spec_.clip_qkv) {
    q = q.clamp(-*spec_.clip_qkv, *spec_.clip_qkv);
    k = k.clamp(-*spec_.clip_qkv, *spec_.clip_qkv);
    v = v.clamp(-*spec_.clip_qkv, *spec_.clip_qkv);
  }
  if (spec_.qk_norm == QkNorm::kFullWidth) {
    q = q_norm_->forward(q);
    k = k_norm_->forward(k);
  }
  q = q.view({B, T, spec_.num_heads, D});
  k = k.view({B, T, spec_.num_kv_heads, D});
  v = v.view({B, T, spec_.num_kv_heads, D}).transpose(1, 2);
  const bool per_head_norm = spec_.qk_norm == QkNorm::kPerHead;
  if (per_head_norm && !spec_.qk_norm_after_rope) {
    q = q_norm_->forward(q);
    k = k_norm_->forward(k);
  }
  q = q.transpose(1, 2);  // (B, Hq, T, D)
  k = k.transpose(1, 2);  // (B, Hkv, T, D)
  if (positions.cos.defined()) {
    q = apply_rotary(q, positions.cos, positions.sin, spec_.rope_interleaved);
    k = apply_rotary(k, positions.cos, positions.sin, spec_.rope_interleaved);
  }
  if (per_head_norm && spec_.qk_norm_after_rope) {
    q = q_norm_->forward(q);
    k = k_norm_->forward(k);
  }
  if (spec_.qk_norm == QkNorm::kUnweightedAfterRope && positions.cos.defined()) {
    q = rms_normalized_fp32(q, spec_.norm.eps).to(q.scalar_type());
    k = rms_normalized_fp32(k, spec_.norm.eps).to(k.scalar_type());
  }
  if (const auto& t = spec_.query_temperature; t && (!t->nope_layers_only || !positions.cos.defined())) {
    // HF counts from the first cached token; position ids do so too, and restart per packed
    // document, so each document is scaled as if alone.
    auto factor = at::log1p(at::floor((positions.ids.to(at::kFloat) + t->offset) / t->floor_scale)) * t->scale + 1.0;
    q = (q * factor.view({B, 1, T, 1})).to(q.scalar_type());
  }
  append_to_cache(cache, k, v);
  auto out = scaled_attention(q, k, v, mask, scale_, spec_.attention_softcap,
                              sinks_ ? *sinks_ : at::Tensor());  // (B, Hq, T, D)
  out = out.transpose(1, 2).reshape({B, T, q_width});
  if (gate.defined()) out = out * at::sigmoid(gate);
  return o_proj_->forward(out);
}

DecoderLayer::DecoderLayer(const DecoderSpec& s, int64_t index, bool moe, const at::TensorOptions& o) : spec_(s) {
  const auto& n = s.names;
  auto norm = [&](const std::string& name) {
    return name.empty() ? Slot<Norm>() : add_module(name, make_norm(s.norm, s.hidden_size, o));
  };
  // HF's registration order (attention and feed-forward in the architecture's order, then the
  // norms): parameter order is module order, and LoRA initialises in it.
  const auto at = static_cast<size_t>(index);
  const bool with_attention = s.attention_layers.empty() || s.attention_layers[at];
  const bool with_feed_forward = s.feed_forward_layers.empty() || s.feed_forward_layers[at];
  auto add_attention = [&] {
    std::unique_ptr<AttentionLayer> attention;
    if (s.make_attention) attention = s.make_attention(s, index, o);
    if (!attention) attention = std::make_unique<DecoderAttention>(s, o);
    const auto& name = s.attention_names.empty() ? n.attention : s.attention_names[at];
    // An empty name registers the mixer's own modules in the layer (Falcon-H1's mamba and self_attn).
    self_attn_ = name.empty() ? add_inline_module<AttentionLayer>(std::move(attention))
                              : add_module(name, std::move(attention));
  };
  auto add_feed_forward = [&] {
    const auto width = s.intermediate_sizes.empty() ? s.intermediate_size : s.intermediate_sizes[at];
    if (moe) {
      moe_ = add_module(n.mlp, std::make_unique<SparseMoe>(s.hidden_size, *s.moe, o));
      if (!s.moe_dense_mlp.empty()) dense_beside_moe_ = add_module(s.moe_dense_mlp, make_mlp(s.hidden_size, width, s.mlp, o));
    } else if (auto own = s.make_feed_forward ? s.make_feed_forward(s, index, o) : nullptr) {
      mlp_ = add_inline_module<Mlp>(std::move(own));
    } else {
      mlp_ = add_module(n.mlp, make_mlp(s.hidden_size, width, s.mlp, o));
    }
  };
  if (with_feed_forward && n.feed_forward_first) add_feed_forward();
  if (with_attention) add_attention();
  if (with_feed_forward && !n.feed_forward_first) add_feed_forward();
  if (with_attention) {
    attn_in_ = norm(n.attn_in_norm);
    attn_out_ = norm(n.attn_out_norm);
  }
  if (with_feed_forward) {
    mlp_in_ = norm(n.mlp_in_norm);
    mlp_out_ = norm(n.mlp_out_norm);
  }
  if (s.layer_scalar) layer_scalar_ = add_buffer("layer_scalar", at::empty({1}, o));
  if (s.per_layer_input_size > 0) {
    auto linear = [&o](int64_t in, int64_t out) -> std::unique_ptr<LinearLayer> {
      return std::make_unique<Linear>(in, out, false, o);
    };
    per_layer_input_gate_ = add_module("per_layer_input_gate", linear(s.hidden_size, s.per_layer_input_size));
    per_layer_projection_ = add_module("per_layer_projection", linear(s.per_layer_input_size, s.hidden_size));
    post_per_layer_input_norm_ = norm("post_per_layer_input_norm");
  }
}

at::Tensor DecoderLayer::forward(const at::Tensor& x, const LayerPositions& positions, const at::Tensor& mask,
                                 KVCache::Layer* cache, at::Tensor* router_logits,
                                 const at::Tensor& per_layer_input) const {
  auto apply = [](const Slot<Norm>& norm, const at::Tensor& t) { return norm ? norm->forward(t) : t; };
  auto feed_forward = [&](const at::Tensor& t) {
    if (!moe_) return mlp_->forward(t);
    auto [out, logits] = moe_->forward(t);
    *router_logits = logits;
    return dense_beside_moe_ ? out + dense_beside_moe_->forward(t) : out;
  };
  auto scaled = [this](const at::Tensor& branch) {
    return spec_.residual_scale == 1.0 ? branch : branch * spec_.residual_scale;
  };
  auto h = x;
  if (self_attn_) {
    auto attn_input = apply(attn_in_, x);
    auto attn = apply(attn_out_, self_attn_->forward(attn_input, positions, mask, cache));
    if (spec_.parallel_residual) {
      auto mlp = apply(mlp_out_, feed_forward(mlp_in_ ? mlp_in_->forward(x) : attn_input));
      return x + scaled(attn) + scaled(mlp);
    }
    h = x + scaled(attn);
  }
  auto out = mlp_ || moe_ ? h + scaled(apply(mlp_out_, feed_forward(apply(mlp_in_, h)))) : h;
  if (per_layer_input_gate_) {  // the layer's own input, gated by its hidden state
    AM_CHECK(per_layer_input.defined(), "internal: a layer with per-layer inputs was called without its input");
    auto gated = activate(spec_.mlp.act, per_layer_input_gate_->forward(out)) * per_layer_input;
    out = out + post_per_layer_input_norm_->forward(per_layer_projection_->forward(gated));
  }
  return layer_scalar_ ? out * *layer_scalar_ : out;
}

}  // namespace automodel::models
