#include "automodel/models/common/mamba2.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/full.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/silu.h>
#include <ATen/ops/softplus.h>
#include <ATen/ops/zeros.h>

#include <cmath>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/hf/model_config.h"
#include "automodel/models/common/causal_conv.h"

namespace automodel::models {
namespace {

// a (..., L) -> (..., L, L): [i, j] = a_{j+1} + ... + a_i for j <= i (0 on the diagonal), -inf
// above it. Summed over the masked terms rather than as a difference of cumulative sums, which
// would cancel catastrophically (transformers' "stable" segment sum).
at::Tensor segment_sums(const at::Tensor& a) {
  const int64_t L = a.size(-1);
  auto sizes = a.sizes().vec();
  sizes.push_back(L);
  auto ones = at::ones({L, L}, a.options().dtype(at::kBool));
  auto terms = a.unsqueeze(-1).expand(sizes).masked_fill(ones.tril(-1).logical_not(), 0);  // [k, j] = a_k for k > j
  return terms.cumsum(-2).masked_fill(ones.tril(0).logical_not(), -std::numeric_limits<double>::infinity());
}

// (B, T, ...) -> (B, chunks, L, ...), zero-padded at the end.
at::Tensor into_chunks(const at::Tensor& t, int64_t L) {
  const int64_t T = t.size(1), pad = (L - T % L) % L;
  std::vector<int64_t> padding(2 * (t.dim() - 1), 0);
  padding[padding.size() - 1] = pad;  // the last pair pads dim 1
  auto sizes = t.sizes().vec();
  sizes[1] = L;
  sizes.insert(sizes.begin() + 1, (T + pad) / L);
  return at::constant_pad_nd(t, padding).view(sizes);
}

}  // namespace

std::pair<at::Tensor, at::Tensor> ssd_chunk_scan(const at::Tensor& x_in, const at::Tensor& dt_in, const at::Tensor& A,
                                                 const at::Tensor& b_in, const at::Tensor& c_in, const at::Tensor& d,
                                                 const at::Tensor& state, int64_t L) {
  const int64_t B = x_in.size(0), T = x_in.size(1), H = x_in.size(2), P = x_in.size(3), G = b_in.size(2);
  const int64_t N = b_in.size(3);
  const int64_t R = H / G;  // heads per group: B and C are the group's, shared by its heads
  auto x = x_in.to(at::kFloat), dt = dt_in.to(at::kFloat);
  // Chunked, heads before positions: X (B, C, H, L, P), Bg/Cg (B, C, G, L, N), a (B, C, H, L).
  auto X = into_chunks(x * dt.unsqueeze(-1), L).permute({0, 1, 3, 2, 4});
  auto Bg = into_chunks(b_in.to(at::kFloat), L).permute({0, 1, 3, 2, 4});
  auto Cg = into_chunks(c_in.to(at::kFloat), L).permute({0, 1, 3, 2, 4});
  auto a = into_chunks(dt * A.to(at::kFloat), L).permute({0, 1, 3, 2}).contiguous();
  const int64_t chunks = a.size(1);
  auto a_cum = a.cumsum(-1);
  auto per_head = [&](const at::Tensor& t) {  // (B, C, H, ...) as (B, C, G, R, ...)
    auto sizes = t.sizes().vec();
    sizes[2] = R;
    sizes.insert(sizes.begin() + 2, G);
    return t.view(sizes);
  };
  auto as_heads = [&](const at::Tensor& t) {  // (B, C, G, R, ...) as (B, C, H, ...)
    auto sizes = t.sizes().vec();
    sizes.erase(sizes.begin() + 2);
    sizes[2] = H;
    return t.reshape(sizes);
  };
  // Within a chunk: attention-like weights C_l B_s^T (once per group) times each head's decay from
  // s to l.
  auto scores = at::matmul(Cg, Bg.transpose(-1, -2)).unsqueeze(3);  // (B, C, G, 1, L, L)
  auto y = at::matmul(as_heads(scores * per_head(segment_sums(a).exp())), X);
  // Each chunk's contribution to the state at its end, (B, C, H, N, P).
  auto to_end = (a_cum.narrow(-1, L - 1, 1) - a_cum).exp().unsqueeze(-1);  // (B, C, H, L, 1)
  auto chunk_states = at::matmul(as_heads(Bg.unsqueeze(3) * per_head(to_end)).transpose(-1, -2), X);
  // Across chunks: the state entering each chunk, and the final one.
  auto first = state.defined() ? state.to(at::kFloat).transpose(-1, -2).unsqueeze(1)
                               : at::zeros({B, 1, H, N, P}, X.options());
  auto states = at::cat({first, chunk_states}, 1).permute({0, 2, 1, 3, 4}).reshape({B, H, chunks + 1, N * P});
  auto chunk_sums = a_cum.select(-1, L - 1).transpose(1, 2);  // (B, H, C)
  auto across = segment_sums(at::constant_pad_nd(chunk_sums, {1, 0})).exp();  // (B, H, C+1, C+1)
  auto entering = at::matmul(across, states).view({B, H, chunks + 1, N, P});
  auto final_state = entering.select(2, chunks).transpose(-1, -2);  // (B, H, P, N)
  auto start = entering.narrow(2, 0, chunks).permute({0, 2, 1, 3, 4}).contiguous();  // (B, C, H, N, P)
  auto from_start = a_cum.exp().unsqueeze(-1);  // (B, C, H, L, 1)
  y = y + as_heads(at::matmul(Cg.unsqueeze(3), per_head(start))) * from_start;
  y = y.permute({0, 1, 3, 2, 4}).reshape({B, chunks * L, H, P}).narrow(1, 0, T);
  return {y + x * d.to(at::kFloat).view({1, 1, H, 1}), final_state};
}

Mamba2Shape read_mamba_keys(const hf::JsonFields& c, int64_t inner, double default_norm_eps) {
  Mamba2Shape s;
  s.num_heads = c.check_int("mamba_n_heads", c.get_int("mamba_n_heads", 128), 1, hf::kMaxHeads);
  const char* head = "mamba_d_head";
  const bool automatic = !c.has(head) || (c.raw(head).is_string() && c.get_string(head) == "auto");
  s.head_dim = automatic ? inner / s.num_heads : c.check_int(head, c.get_int(head), 1, hf::kMaxWidth);
  AM_CHECK(s.head_dim > 0 && s.num_heads * s.head_dim == inner,
           "[config] {}: mamba_n_heads x mamba_d_head must be the Mamba2 width ({}), found {} x {}", c.where(head),
           inner, s.num_heads, s.head_dim);
  s.num_groups = c.check_int("mamba_n_groups", c.get_int("mamba_n_groups", 1), 1, s.num_heads);
  c.check_divisible("mamba_n_heads", s.num_heads, "mamba_n_groups", s.num_groups);
  s.state_size = c.check_int("mamba_d_state", c.get_int("mamba_d_state", 256), 1, hf::kMaxWidth);
  s.conv_kernel = c.check_int("mamba_d_conv", c.get_int("mamba_d_conv", 4), 1, 1024);
  s.chunk_size = c.check_int("mamba_chunk_size", c.get_int("mamba_chunk_size", 256), 1, 1 << 16);
  s.conv_bias = c.get_bool("mamba_conv_bias", true);
  s.in_bias = s.out_bias = c.get_bool("mamba_proj_bias", false);
  if (c.has("time_step_limit")) {
    auto limit = c.get_double_list("time_step_limit");
    AM_CHECK(limit.size() == 2 && std::isfinite(limit[0]) && limit[0] >= 0 && limit[0] <= limit[1],
             "[config] {}: expected [min, max] with 0 <= min <= max", c.where("time_step_limit"));
    s.dt_min = limit[0], s.dt_max = limit[1];
  }
  s.norm_eps = c.check_positive("rms_norm_eps", c.get_double("rms_norm_eps", default_norm_eps));
  const auto act = c.get_string("hidden_act", "silu");
  AM_CHECK(act == "silu", "[config] {}: only silu is supported for Mamba2 mixers, found '{}'", c.where("hidden_act"), act);
  return s;
}

Mamba2Mixer::Mamba2Mixer(int64_t hidden, const Mamba2Shape& s, const at::TensorOptions& o) : s_(s) {
  // HF's registration order.
  conv_weight_ = add_parameter("conv1d.weight", at::empty({s.conv_channels(), 1, s.conv_kernel}, o));
  if (s.conv_bias) conv_bias_ = add_parameter("conv1d.bias", at::empty({s.conv_channels()}, o));
  const int64_t width = s.inner() + s.conv_channels() + s.num_heads;
  in_proj_ = add_module<LinearLayer>("in_proj", std::make_unique<Linear>(hidden, width, s.in_bias, o));
  dt_bias_ = add_parameter("dt_bias", at::empty({s.num_heads}, o));
  a_log_ = add_parameter("A_log", at::empty({s.num_heads}, o));
  if (s.gated_norm) norm_weight_ = add_parameter("norm.weight", at::empty({s.inner()}, o));
  d_ = add_parameter("D", at::empty({s.num_heads}, o));
  out_proj_ = add_module<LinearLayer>("out_proj", std::make_unique<Linear>(s.inner(), hidden, s.out_bias, o));
  if (!s.projection_scales.empty()) {
    AM_CHECK(s.projection_scales.size() == 5, "internal: Mamba2 projection_scales has {} entries, expected 5",
             s.projection_scales.size());
    const int64_t GN = s.num_groups * s.state_size;
    const int64_t sections[] = {s.inner(), s.inner(), GN, GN, s.num_heads};
    std::vector<at::Tensor> parts;
    for (size_t i = 0; i < 5; ++i)
      parts.push_back(at::full({sections[i]}, s.projection_scales[i], o.dtype(at::kFloat).device(at::kCPU)));
    projection_scale_ = at::cat(parts).to(o.device().is_meta() ? c10::Device(at::kCPU) : o.device());
  }
}

at::Tensor Mamba2Mixer::forward(const at::Tensor& x, const LayerPositions&, const at::Tensor& mask,
                                KVCache::Layer* cache) const {
  const int64_t B = x.size(0), T = x.size(1), H = s_.num_heads, G = s_.num_groups, N = s_.state_size;
  auto projected = in_proj_->forward(s_.in_scale == 1.0 ? x : x * s_.in_scale);
  // Falcon-H1's per-section multipliers (an fp32 vector, so the product is fp32, as in HF).
  if (projection_scale_.defined()) projected = projected * projection_scale_;
  auto parts = projected.split_with_sizes({s_.inner(), s_.conv_channels(), H}, -1);
  const auto& gate = parts[0];
  at::Tensor* history = cache ? &cache->conv : nullptr;  // the conv's inputs
  auto xbc = at::silu(causal_depthwise_conv(parts[1], *conv_weight_, conv_bias_ ? *conv_bias_ : at::Tensor(), mask,
                                            history));
  auto split = xbc.split_with_sizes({s_.inner(), G * N, G * N}, -1);
  auto xs = split[0].reshape({B, T, H, s_.head_dim});
  auto b = split[1].reshape({B, T, G, N}), c = split[2].reshape({B, T, G, N});
  auto dt = at::softplus(parts[2] + dt_bias_->to(parts[2].scalar_type())).clamp(s_.dt_min, s_.dt_max);
  auto A = -a_log_->to(at::kFloat).exp();
  at::Tensor state = cache && cache->state.defined() ? cache->state : at::Tensor();
  // Packed documents: the state restarts where a token cannot see its predecessor.
  auto y = per_document(mask, [&](int64_t row, int64_t begin, int64_t length) {
    auto slice = [&](const at::Tensor& t) { return t.narrow(0, row, 1).narrow(1, begin, length); };
    auto first_state = begin == 0 && state.defined() ? state.narrow(0, row, 1) : at::Tensor();
    return ssd_chunk_scan(slice(xs), slice(dt), A, slice(b), slice(c), *d_, first_state, s_.chunk_size).first;
  });
  if (y.defined())
    state = at::Tensor();  // packed rows are for training: no state to carry on
  else
    std::tie(y, state) = ssd_chunk_scan(xs, dt, A, b, c, *d_, state, s_.chunk_size);
  if (cache) cache->state = state;
  y = y.reshape({B, T, s_.inner()});
  if (!s_.gated_norm) return out_proj_->forward((y * at::silu(gate)).to(x.scalar_type()));
  // RMSNorm per norm group, in fp32, times the weight; gated by silu(gate) before or after it.
  const int64_t groups = s_.norm_groups;
  auto rms = [&](const at::Tensor& t) {
    return rms_normalized_fp32(t.view({B, T, groups, -1}), s_.norm_eps).view({B, T, s_.inner()});
  };
  auto gate_f = at::silu(gate.to(at::kFloat));
  auto out = s_.norm_before_gate ? *norm_weight_ * rms(y) * gate_f : *norm_weight_ * rms(y * gate_f);
  return out_proj_->forward(out.to(x.scalar_type()));
}

}  // namespace automodel::models
