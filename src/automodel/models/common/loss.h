// HF's causal-LM loss: logits at t predict labels at t+1; -100 labels are ignored.
#pragma once

#include <ATen/core/Tensor.h>

namespace automodel::models {

inline constexpr int64_t kIgnoreIndex = -100;

// labels (B, T) -> targets (B, T): labels shifted left by one, last column -100.
at::Tensor shift_labels(const at::Tensor& labels);
// Mean cross-entropy over non-ignored targets, computed in fp32 (HF ForCausalLMLoss).
// logits: (B, T, V), labels: (B, T) unshifted -> scalar
at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace automodel::models
