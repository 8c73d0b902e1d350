// Gated DeltaNet (Qwen3-Next, Qwen3.5 linear-attention layers): q/k/v through a causal depthwise
// conv and SiLU, then the gated delta rule S_t = exp(g_t) S_{t-1} + k_t (beta_t (v_t - S_{t-1}^T k_t))^T,
// o_t = S_t^T q_t (q, k L2-normalised, q scaled by dK^-0.5), computed chunk-wise as transformers'
// torch reference does; the output goes through an RMSNorm gated by silu(z). Packed documents
// restart the conv and the state at each document; a KV cache entry holds the conv inputs and
// the recurrent state.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

#include "automodel/models/common/decoder_layer.h"

namespace automodel::models {

struct GatedDeltaNetShape {
  int64_t num_k_heads = 0, num_v_heads = 0, k_dim = 0, v_dim = 0, conv_kernel = 4;
  double norm_eps = 1e-6;
  // Qwen3-Next: in_proj_qkvz / in_proj_ba, grouped per key head; Qwen3.5: in_proj_qkv/_z/_b/_a.
  bool grouped_projections = false;
};

class GatedDeltaNet : public AttentionLayer {
 public:
  GatedDeltaNet(int64_t hidden, const GatedDeltaNetShape& shape, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, const LayerPositions& positions, const at::Tensor& mask,
                     KVCache::Layer* cache) const override;

 private:
  GatedDeltaNetShape s_;
  Slot<LinearLayer> in_proj_qkvz_, in_proj_ba_, in_proj_qkv_, in_proj_z_, in_proj_b_, in_proj_a_, out_proj_;
  at::Tensor *conv_weight_, *dt_bias_, *a_log_, *norm_weight_;
};

// The chunked gated delta rule. q, k: (B, T, H, dK), v: (B, T, H, dV), g (log decay), beta:
// (B, T, H); state: (B, H, dK, dV) or undefined -> output (B, T, H, dV), final state.
std::pair<at::Tensor, at::Tensor> chunk_gated_delta_rule(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                         const at::Tensor& g, const at::Tensor& beta,
                                                         const at::Tensor& state, int64_t chunk = 64);

}  // namespace automodel::models
