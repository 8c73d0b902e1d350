#include "automodel/models/common/gated_deltanet.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linalg_solve_triangular.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/silu.h>
#include <ATen/ops/softplus.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>

#include <cmath>
#include <limits>
#include <vector>

#include "automodel/models/common/causal_conv.h"

namespace automodel::models {

namespace {
at::Tensor l2norm(const at::Tensor& x) { return x * at::rsqrt((x * x).sum(-1, true) + 1e-6); }
}  // namespace

std::pair<at::Tensor, at::Tensor> chunk_gated_delta_rule(const at::Tensor& q_in, const at::Tensor& k_in,
                                                         const at::Tensor& v_in, const at::Tensor& g_in,
                                                         const at::Tensor& beta_in, const at::Tensor& state,
                                                         int64_t chunk) {
  const auto dtype = q_in.scalar_type();
  const int64_t B = k_in.size(0), T = k_in.size(1), H = v_in.size(2), dK = k_in.size(3), dV = v_in.size(3);
  auto to_heads = [](const at::Tensor& t) { return t.transpose(1, 2).to(at::kFloat).contiguous(); };
  auto q = to_heads(q_in), k = to_heads(k_in), v = to_heads(v_in), beta = to_heads(beta_in), g = to_heads(g_in);
  q = l2norm(q) * (1.0 / std::sqrt(static_cast<double>(dK)));
  k = l2norm(k);
  const int64_t pad = (chunk - T % chunk) % chunk, N = (T + pad) / chunk;
  q = at::constant_pad_nd(q, {0, 0, 0, pad});
  k = at::constant_pad_nd(k, {0, 0, 0, pad});
  v = at::constant_pad_nd(v, {0, 0, 0, pad});
  beta = at::constant_pad_nd(beta, {0, pad});
  g = at::constant_pad_nd(g, {0, pad});
  auto v_beta = (v * beta.unsqueeze(-1)).view({B, H, N, chunk, dV});
  auto k_beta = (k * beta.unsqueeze(-1)).view({B, H, N, chunk, dK});
  q = q.view({B, H, N, chunk, dK});
  k = k.view({B, H, N, chunk, dK});
  auto cum = g.view({B, H, N, chunk}).cumsum(-1);  // log of the decay since the chunk's start
  auto upper = at::ones({chunk, chunk}, q.options().dtype(at::kBool)).triu(1);
  auto pairwise = (cum.unsqueeze(-1) - cum.unsqueeze(-2)).masked_fill(upper, -std::numeric_limits<double>::infinity()).exp();
  auto ut = at::matmul(k_beta, k.transpose(-1, -2)) * pairwise;
  auto intra = at::matmul(q, k.transpose(-1, -2)) * pairwise;
  auto decayed_k_beta = k_beta * cum.exp().unsqueeze(-1);
  // (I + strictly_lower(ut))^-1 applied to the values and the decayed keys (the UT transform).
  auto new_values = at::linalg_solve_triangular(ut, v_beta, /*upper=*/false, /*left=*/true, /*unitriangular=*/true);
  auto k_cumdecay = at::linalg_solve_triangular(ut, decayed_k_beta, false, true, true);
  auto S = state.defined() ? state.to(at::kFloat) : at::zeros({B, H, dK, dV}, q.options());
  auto q_decayed = q * cum.exp().unsqueeze(-1);
  auto k_to_end = k * (cum.narrow(-1, chunk - 1, 1) - cum).exp().unsqueeze(-1);
  auto chunk_decay = cum.select(-1, chunk - 1).exp().unsqueeze(-1).unsqueeze(-1);  // (B, H, N, 1, 1)
  std::vector<at::Tensor> outs;
  for (int64_t i = 0; i < N; ++i) {
    auto v_new = new_values.select(2, i) - at::matmul(k_cumdecay.select(2, i), S);
    outs.push_back(at::matmul(q_decayed.select(2, i), S) + at::matmul(intra.select(2, i), v_new));
    S = S * chunk_decay.select(2, i) + at::matmul(k_to_end.select(2, i).transpose(-1, -2), v_new);
  }
  auto out = at::stack(outs, 2).view({B, H, N * chunk, dV}).narrow(2, 0, T);
  return {out.transpose(1, 2).to(dtype).contiguous(), S};
}

GatedDeltaNet::GatedDeltaNet(int64_t hidden, const GatedDeltaNetShape& s, const at::TensorOptions& o) : s_(s) {
  auto linear = [&o](int64_t in, int64_t out) -> std::unique_ptr<LinearLayer> {
    return std::make_unique<Linear>(in, out, false, o);
  };
  const int64_t key_width = s.num_k_heads * s.k_dim, value_width = s.num_v_heads * s.v_dim;
  // HF's registration orders (module order fixes LoRA's initialisation order).
  conv_weight_ = add_parameter("conv1d.weight", at::empty({2 * key_width + value_width, 1, s.conv_kernel}, o));
  if (s.grouped_projections) {
    in_proj_qkvz_ = add_module("in_proj_qkvz", linear(hidden, 2 * key_width + 2 * value_width));
    in_proj_ba_ = add_module("in_proj_ba", linear(hidden, 2 * s.num_v_heads));
  }
  dt_bias_ = add_parameter("dt_bias", at::empty({s.num_v_heads}, o));
  a_log_ = add_parameter("A_log", at::empty({s.num_v_heads}, o));
  norm_weight_ = add_parameter("norm.weight", at::empty({s.v_dim}, o));
  out_proj_ = add_module("out_proj", linear(value_width, hidden));
  if (!s.grouped_projections) {
    in_proj_qkv_ = add_module("in_proj_qkv", linear(hidden, 2 * key_width + value_width));
    in_proj_z_ = add_module("in_proj_z", linear(hidden, value_width));
    in_proj_b_ = add_module("in_proj_b", linear(hidden, s.num_v_heads));
    in_proj_a_ = add_module("in_proj_a", linear(hidden, s.num_v_heads));
  }
}

at::Tensor GatedDeltaNet::forward(const at::Tensor& x, const LayerPositions&, const at::Tensor& mask,
                                  KVCache::Layer* cache) const {
  const int64_t B = x.size(0), T = x.size(1), nK = s_.num_k_heads, nV = s_.num_v_heads, r = nV / nK;
  const int64_t key_width = nK * s_.k_dim, value_width = nV * s_.v_dim;
  at::Tensor mixed, z, b, a;  // mixed: (B, T, [all q | all k | all v])
  if (in_proj_qkvz_) {
    // Grouped per key head: [q | k | v (r heads) | z (r heads)] and [b (r) | a (r)].
    auto qkvz = in_proj_qkvz_->forward(x).view({B, T, nK, -1}).split_with_sizes(
        {s_.k_dim, s_.k_dim, r * s_.v_dim, r * s_.v_dim}, -1);
    auto ba = in_proj_ba_->forward(x).view({B, T, nK, 2 * r}).split_with_sizes({r, r}, -1);
    mixed = at::cat({qkvz[0].reshape({B, T, key_width}), qkvz[1].reshape({B, T, key_width}),
                     qkvz[2].reshape({B, T, value_width})}, -1);
    z = qkvz[3].reshape({B, T, nV, s_.v_dim});
    b = ba[0].reshape({B, T, nV});
    a = ba[1].reshape({B, T, nV});
  } else {
    mixed = in_proj_qkv_->forward(x);
    z = in_proj_z_->forward(x).view({B, T, nV, s_.v_dim});
    b = in_proj_b_->forward(x);
    a = in_proj_a_->forward(x);
  }
  at::Tensor* history = cache ? &cache->conv : nullptr;  // the conv's inputs
  mixed = at::silu(causal_depthwise_conv(mixed, *conv_weight_, at::Tensor(), mask, history));
  auto parts = mixed.split_with_sizes({key_width, key_width, value_width}, -1);
  auto q = parts[0].reshape({B, T, nK, s_.k_dim}), k = parts[1].reshape({B, T, nK, s_.k_dim});
  auto v = parts[2].reshape({B, T, nV, s_.v_dim});
  auto beta = at::sigmoid(b);
  auto g = -a_log_->to(at::kFloat).exp() * at::softplus(a.to(at::kFloat) + *dt_bias_);
  if (r > 1) {
    q = q.repeat_interleave(r, 2);
    k = k.repeat_interleave(r, 2);
  }
  // Packed documents: the state restarts where a token cannot see its predecessor.
  at::Tensor state = cache && cache->state.defined() ? cache->state : at::Tensor();
  auto out = per_document(mask, [&](int64_t row, int64_t begin, int64_t length) {
    auto slice = [&](const at::Tensor& t) { return t.narrow(0, row, 1).narrow(1, begin, length); };
    auto first_state = begin == 0 && state.defined() ? state.narrow(0, row, 1) : at::Tensor();
    return chunk_gated_delta_rule(slice(q), slice(k), slice(v), slice(g), slice(beta), first_state).first;
  });
  if (out.defined())
    state = at::Tensor();  // packed rows are for training: no state to carry on
  else
    std::tie(out, state) = chunk_gated_delta_rule(q, k, v, g, beta, state);
  if (cache) cache->state = state;
  // Gated RMSNorm per head: w * norm(o) (in the input dtype), times silu(z) in fp32.
  auto normed = rms_normalized_fp32(out, s_.norm_eps).to(out.scalar_type());
  auto y = (*norm_weight_ * normed) * at::silu(z.to(at::kFloat));
  return out_proj_->forward(y.to(x.scalar_type()).reshape({B, T, value_width}));
}

}  // namespace automodel::models
