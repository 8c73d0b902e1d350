// Mamba2 (state-space duality), the recurrent mixer of Nemotron-H, Granite 4 hybrids, Falcon-H1
// and Bamba: in_proj -> [gate z | x B C | dt]; x, B, C through a causal depthwise conv and SiLU;
// per head h the selective scan S_t = exp(dt_t A_h) S_{t-1} + dt_t x_t B_t^T, y_t = S_t C_t + D_h x_t
// (dt = clamp(softplus(dt + dt_bias)), A = -exp(A_log), B and C shared by the heads of a group),
// computed chunk-wise as transformers' torch reference does; then an RMSNorm (per group, or over
// all channels) of the output gated by silu(z), and out_proj. Packed documents restart the conv and the state at each
// document; a KV cache entry holds the conv inputs and the state.
#pragma once

#include <ATen/core/Tensor.h>

#include <limits>
#include <utility>
#include <vector>

#include "automodel/hf/json_fields.h"
#include "automodel/models/common/decoder_layer.h"

namespace automodel::models {

struct Mamba2Shape {
  int64_t num_heads = 0, head_dim = 0, num_groups = 1, state_size = 0, conv_kernel = 4, chunk_size = 256;
  double dt_min = 0, dt_max = std::numeric_limits<double>::infinity();  // dt's clamp after softplus
  double norm_eps = 1e-5;
  int64_t norm_groups = 1;  // the gated RMSNorm's groups (Nemotron-H: num_groups; Granite 4: one)
  bool gated_norm = true;         // false (Falcon-H1 without mamba_rms_norm): y * silu(z), no norm
  bool norm_before_gate = false;  // Falcon-H1: w * norm(y), then x silu(z); else w * norm(y * silu(z))
  bool conv_bias = true, in_bias = false, out_bias = false;
  // Falcon-H1's muP: the input x this, and the projection's [z | x | B | C | dt] sections each x
  // its multiplier (empty: none).
  double in_scale = 1.0;
  std::vector<double> projection_scales;
  int64_t inner() const { return num_heads * head_dim; }
  int64_t conv_channels() const { return inner() + 2 * num_groups * state_size; }
};

class Mamba2Mixer : public AttentionLayer {
 public:
  Mamba2Mixer(int64_t hidden, const Mamba2Shape& shape, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, const LayerPositions& positions, const at::Tensor& mask,
                     KVCache::Layer* cache) const override;

 private:
  Mamba2Shape s_;
  Slot<LinearLayer> in_proj_, out_proj_;
  at::Tensor *conv_weight_, *conv_bias_ = nullptr, *dt_bias_, *a_log_, *norm_weight_ = nullptr, *d_;
  at::Tensor projection_scale_;  // (in_proj's width) fp32, or undefined
};

// The `mamba_*` keys Granite 4, Falcon-H1 and Bamba configs share (mamba_n_heads, mamba_d_head or
// "auto" = inner_width / heads, mamba_n_groups, mamba_d_state, mamba_d_conv, mamba_chunk_size,
// mamba_conv_bias, mamba_proj_bias for both projections, time_step_limit, rms_norm_eps, and
// hidden_act, which must be silu), for a mixer `inner_width` wide.
Mamba2Shape read_mamba_keys(const hf::JsonFields& config, int64_t inner_width, double default_norm_eps);

// The chunked scan. x: (B, T, H, P), dt (after softplus and clamp): (B, T, H), A: (H) (negative),
// b, c: (B, T, G, N), d: (H); state: (B, H, P, N) or undefined -> y (B, T, H, P) in fp32 (D x
// included), final state (B, H, P, N).
std::pair<at::Tensor, at::Tensor> ssd_chunk_scan(const at::Tensor& x, const at::Tensor& dt, const at::Tensor& A,
                                                 const at::Tensor& b, const at::Tensor& c, const at::Tensor& d,
                                                 const at::Tensor& state, int64_t chunk);

}  // namespace automodel::models
