// Rotary position embeddings with HF's inverse-frequency formulas for every supported rope type,
// computed with the same fp32 op order as transformers so positions match to the last bits.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

#include "automodel/hf/rope_config.h"

namespace automodel::models {

class RotaryEmbedding {
 public:
  explicit RotaryEmbedding(hf::RopeConfig config);

  // position_ids: (B, T) int64 -> cos, sin: (B, T, dim) in `dtype`, scaled by the attention factor.
  std::pair<at::Tensor, at::Tensor> cos_sin(const at::Tensor& position_ids, at::ScalarType dtype) const;
  // M-RoPE (Qwen2-VL): position_ids (3, B, T) on the temporal, height and width axes; the rotary
  // dims split as config().mrope_section (in each half), chunk i rotating with axis i % 3.
  std::pair<at::Tensor, at::Tensor> cos_sin_sections(const at::Tensor& position_ids, at::ScalarType dtype) const;
  int64_t dim() const { return config_.dim; }
  const hf::RopeConfig& config() const { return config_; }
  // The frequencies used for a batch whose largest position is max_position (dynamic types depend on it).
  at::Tensor inv_freq(int64_t max_position) const;
  double attention_factor() const { return attention_factor_; }

 private:
  hf::RopeConfig config_;
  at::Tensor base_inv_freq_;  // fp32 CPU, for positions within the original context
  double attention_factor_ = 1.0;
  int64_t original_max_ = 0;  // longrope/dynamic switch point
};

// yarn's magnitude correction (HF's get_mscale): 0.1 * mscale * ln(factor) + 1 for factor > 1.
double yarn_mscale(double factor, double mscale);

// x: (B, H, T, head_dim); rotates the first cos.size(-1) dims, as rotate_half on the two halves
// (Llama), or on adjacent pairs (x0, x1), (x2, x3), ... when `interleaved` (Cohere, GLM).
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool interleaved = false);

}  // namespace automodel::models
