#include "automodel/models/common/rope.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/repeat_interleave.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/clamp.h>
#include <ATen/ops/cos.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/reciprocal.h>
#include <ATen/ops/sin.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/where.h>

#include <cmath>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace automodel::models {
namespace {

const at::TensorOptions kF32 = at::TensorOptions().dtype(at::kFloat);

// 1 / base^(arange(0, dim, 2) / dim), as HF: int64 arange cast to float, divided, pow.
at::Tensor default_inv_freq(double base, int64_t dim) {
  auto exponent = at::arange(0, dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / static_cast<double>(dim);
  return 1.0 / at::pow(base, exponent);
}

at::Tensor llama3_inv_freq(const hf::RopeConfig& c) {
  auto inv_freq = default_inv_freq(c.theta, c.dim);
  double factor = *c.factor;
  double old_context = static_cast<double>(*c.original_max_position_embeddings);
  double low_wavelen = old_context / c.low_freq_factor;
  double high_wavelen = old_context / c.high_freq_factor;
  auto wavelen = 2 * M_PI / inv_freq;
  auto scaled = at::where(wavelen > low_wavelen, inv_freq / factor, inv_freq);
  auto smooth = (old_context / wavelen - c.low_freq_factor) / (c.high_freq_factor - c.low_freq_factor);
  auto smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
  auto is_medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
  return at::where(is_medium, smoothed, scaled);
}

std::pair<at::Tensor, double> yarn_inv_freq(const hf::RopeConfig& c) {
  double base = c.theta;
  int64_t dim = c.dim;
  std::optional<double> factor = c.factor;
  int64_t original_max = c.max_position_embeddings;
  if (c.original_max_position_embeddings) {
    original_max = *c.original_max_position_embeddings;
    // v4 derives the factor from the context ratio whenever the original length is given;
    // v5 only when `factor` is absent.
    if (!c.v5_semantics || !factor) factor = static_cast<double>(c.max_position_embeddings) / original_max;
  }
  AM_CHECK(factor.has_value(), "[rope] yarn needs 'factor' or 'original_max_position_embeddings'");
  double attention = 0;
  if (c.attention_factor) {
    attention = *c.attention_factor;
  } else if (c.mscale && c.mscale_all_dim && *c.mscale != 0 && *c.mscale_all_dim != 0) {
    attention = yarn_mscale(*factor, *c.mscale) / yarn_mscale(*factor, *c.mscale_all_dim);
  } else {
    attention = yarn_mscale(*factor, 1.0);
  }
  double beta_fast = c.beta_fast.value_or(32.0), beta_slow = c.beta_slow.value_or(1.0);
  if (beta_fast == 0) beta_fast = 32.0;  // HF: `get(...) or 32`
  if (beta_slow == 0) beta_slow = 1.0;
  auto correction_dim = [&](double rotations) {
    return (dim * std::log(original_max / (rotations * 2 * M_PI))) / (2 * std::log(base));
  };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (c.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;
  auto pos_freqs = at::pow(base, at::arange(0, dim, 2, kF32) / static_cast<double>(dim));
  auto extrapolation = 1.0 / pos_freqs;
  auto interpolation = 1.0 / (*factor * pos_freqs);
  auto ramp = at::clamp((at::arange(dim / 2, kF32) - low) / (high - low), 0, 1);
  auto extrapolation_factor = 1 - ramp;
  auto inv_freq = interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor;
  return {inv_freq, attention};
}

at::Tensor longrope_inv_freq(const hf::RopeConfig& c, const std::vector<double>& ext) {
  auto exponent = at::arange(0, c.dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / static_cast<double>(c.dim);
  auto ext_factors = at::tensor(std::vector<float>(ext.begin(), ext.end()), kF32);
  return 1.0 / (ext_factors * at::pow(c.theta, exponent));
}

}  // namespace

RotaryEmbedding::RotaryEmbedding(hf::RopeConfig config) : config_(std::move(config)) {
  const auto& c = config_;
  original_max_ = c.max_position_embeddings;
  if (c.type == "default") {
    base_inv_freq_ = default_inv_freq(c.theta, c.dim);
  } else if (c.type == "linear") {
    base_inv_freq_ = default_inv_freq(c.theta, c.dim) / *c.factor;
  } else if (c.type == "dynamic") {
    base_inv_freq_ = default_inv_freq(c.theta, c.dim);
    if (c.v5_semantics && c.original_max_position_embeddings) original_max_ = *c.original_max_position_embeddings;
  } else if (c.type == "llama3") {
    base_inv_freq_ = llama3_inv_freq(c);
  } else if (c.type == "yarn") {
    std::tie(base_inv_freq_, attention_factor_) = yarn_inv_freq(c);
  } else if (c.type == "proportional") {
    // int(proportion * dim // 2) pairs turn, at 1 / theta^(2i / dim); the others have frequency 0.
    const auto turning = static_cast<int64_t>(std::floor(c.proportion * static_cast<double>(c.dim) / 2));
    auto exponent =
        at::arange(0, 2 * turning, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / static_cast<double>(c.dim);
    base_inv_freq_ = at::cat({1.0 / at::pow(c.theta, exponent), at::zeros({c.dim / 2 - turning}, kF32)}) /
                     c.factor.value_or(1.0);
  } else if (c.type == "longrope") {
    double factor = c.factor.value_or(1.0);
    if (c.original_max_position_embeddings) {
      original_max_ = *c.original_max_position_embeddings;
      factor = static_cast<double>(c.max_position_embeddings) / original_max_;
    }
    attention_factor_ = c.attention_factor.value_or(
        factor <= 1.0 ? 1.0 : std::sqrt(1 + std::log(factor) / std::log(static_cast<double>(original_max_))));
    base_inv_freq_ = longrope_inv_freq(c, c.short_factor);
  } else {
    AM_FAIL("[rope] unsupported rope type '{}'", c.type);
  }
}

at::Tensor RotaryEmbedding::inv_freq(int64_t max_position) const {
  int64_t seq_len = max_position + 1;
  if (config_.type == "dynamic" && seq_len > original_max_) {
    // NTK-aware: grow the base with the sequence length (HF recomputes it per forward).
    double factor = *config_.factor;
    double dim = static_cast<double>(config_.dim);
    double base = config_.theta *
                  std::pow((factor * seq_len / original_max_) - (factor - 1), dim / (dim - 2));
    return default_inv_freq(base, config_.dim);
  }
  if (config_.type == "longrope" && seq_len > original_max_) return longrope_inv_freq(config_, config_.long_factor);
  return base_inv_freq_;
}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::cos_sin(const at::Tensor& position_ids, at::ScalarType dtype) const {
  // Only the length-dependent types need the largest position (.item() syncs a GPU stream).
  bool length_dependent = config_.type == "dynamic" || config_.type == "longrope";
  int64_t max_position = length_dependent && position_ids.numel() ? position_ids.max().item<int64_t>() : 0;
  auto inv = inv_freq(max_position).to(position_ids.device());
  // freqs: (B, T, dim/2) = positions x inv_freq, in fp32 as HF (autocast disabled).
  auto freqs = position_ids.to(at::kFloat).unsqueeze(-1) * inv.view({1, 1, -1});
  auto emb = at::cat({freqs, freqs}, -1);
  auto cos = at::cos(emb), sin = at::sin(emb);
  if (attention_factor_ != 1.0) {
    cos = cos * attention_factor_;
    sin = sin * attention_factor_;
  }
  return {cos.to(dtype), sin.to(dtype)};
}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::cos_sin_sections(const at::Tensor& position_ids,
                                                                    at::ScalarType dtype) const {
  const auto& section = config_.mrope_section;
  AM_CHECK(section.size() == 3 && position_ids.dim() == 3 && position_ids.size(0) == 3,
           "M-RoPE needs mrope_section and (3, batch, seq) positions, found {}", format_shape(position_ids.sizes().vec()));
  std::vector<at::Tensor> cos_axes, sin_axes;
  for (int64_t axis = 0; axis < 3; ++axis) {
    auto [c, s] = cos_sin(position_ids[axis], dtype);
    cos_axes.push_back(c);
    sin_axes.push_back(s);
  }
  std::vector<at::Tensor> cos, sin;
  int64_t at = 0;
  for (int64_t chunk = 0; chunk < 6; ++chunk) {  // both halves: T H W T H W
    const auto width = section[static_cast<size_t>(chunk % 3)];
    cos.push_back(cos_axes[static_cast<size_t>(chunk % 3)].narrow(-1, at, width));
    sin.push_back(sin_axes[static_cast<size_t>(chunk % 3)].narrow(-1, at, width));
    at += width;
  }
  return {at::cat(cos, -1), at::cat(sin, -1)};
}

double yarn_mscale(double factor, double mscale) { return factor <= 1 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0; }

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool interleaved) {
  // cos/sin: (B, T, rot) as [freqs | freqs] -> broadcast over heads: (B, 1, T, rot)
  int64_t rot = cos.size(-1);
  auto c = cos.unsqueeze(1), s = sin.unsqueeze(1);
  auto x_rot = rot == x.size(-1) ? x : x.narrow(-1, 0, rot);
  at::Tensor rotated;
  if (interleaved) {
    // Each frequency once per pair: [f0, f0, f1, f1, ...]; pair (a, b) -> (-b, a).
    c = c.narrow(-1, 0, rot / 2).repeat_interleave(2, -1);
    s = s.narrow(-1, 0, rot / 2).repeat_interleave(2, -1);
    auto pairs = x_rot.unflatten(-1, {rot / 2, 2});
    rotated = at::stack({-pairs.select(-1, 1), pairs.select(-1, 0)}, -1).flatten(-2);
  } else {
    auto half1 = x_rot.narrow(-1, 0, rot / 2), half2 = x_rot.narrow(-1, rot / 2, rot / 2);
    rotated = at::cat({-half2, half1}, -1);
  }
  auto out = x_rot * c + rotated * s;
  if (rot == x.size(-1)) return out;
  return at::cat({out, x.narrow(-1, rot, x.size(-1) - rot)}, -1);
}

}  // namespace automodel::models
