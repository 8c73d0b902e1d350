// The attention and the layer DecoderLM stacks, composed from a DecoderSpec.
#pragma once

#include <ATen/core/Tensor.h>

#include "automodel/models/common/attention.h"
#include "automodel/models/common/decoder_spec.h"
#include "automodel/models/common/module.h"

namespace automodel::models {

// Rope inputs of one layer: cos/sin (B, T, rot), undefined on NoPE layers; and the tokens'
// position ids (B, T) (per document when packed, after any cached tokens).
struct LayerPositions {
  at::Tensor cos, sin;
  at::Tensor ids;
};

// What a decoder layer needs of its attention: the standard one below, or an architecture's own
// (DeepSeek's MLA), installed through DecoderSpec::make_attention.
class AttentionLayer : public Module {
 public:
  // x: (B, T, H) -> (B, T, H)
  virtual at::Tensor forward(const at::Tensor& x, const LayerPositions& positions, const at::Tensor& mask,
                             KVCache::Layer* cache) const = 0;
};

// Multi-head attention with GQA, optional fused qkv, q/k norms, clipping, rope and softcap.
class DecoderAttention : public AttentionLayer {
 public:
  DecoderAttention(const DecoderSpec& spec, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, const LayerPositions& positions, const at::Tensor& mask,
                     KVCache::Layer* cache) const override;

 private:
  const DecoderSpec& spec_;
  double scale_;
  Slot<LinearLayer> q_proj_, k_proj_, v_proj_, qkv_proj_, o_proj_;
  Slot<Norm> q_norm_, k_norm_;
  at::Tensor* sinks_ = nullptr;
};

class DecoderLayer : public Module {
 public:
  DecoderLayer(const DecoderSpec& spec, int64_t index, bool moe, const at::TensorOptions& options);
  // x: (B, T, H) -> (B, T, H); router_logits set for MoE layers. per_layer_input: (B, T,
  // per_layer_input_size) when the spec has per-layer inputs.
  at::Tensor forward(const at::Tensor& x, const LayerPositions& positions, const at::Tensor& mask,
                     KVCache::Layer* cache, at::Tensor* router_logits, const at::Tensor& per_layer_input = {}) const;

 private:
  const DecoderSpec& spec_;
  Slot<AttentionLayer> self_attn_;
  Slot<Mlp> mlp_, dense_beside_moe_;
  Slot<SparseMoe> moe_;
  Slot<Norm> attn_in_, attn_out_, mlp_in_, mlp_out_;
  at::Tensor* layer_scalar_ = nullptr;
  Slot<LinearLayer> per_layer_input_gate_, per_layer_projection_;
  Slot<Norm> post_per_layer_input_norm_;
};

}  // namespace automodel::models
