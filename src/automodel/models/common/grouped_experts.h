// The dense experts of an MoE layer as one operation over tokens grouped per expert: each
// expert's projections, activation and routing weight in one pass, experts side by side on the
// threads with each product on one thread (fine-grained experts' ~100-row products use the
// cores better side by side than each split across them), forward and backward.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "automodel/models/common/layers.h"

namespace automodel::models {

// Per expert: act(x gate^T) * (x up^T) (kGateAndUp), the same with [gate | up] one matrix
// (kFusedGateUp), or act(x up^T) (kUp); then down. Each list holds one (out, in) matrix per
// expert, or is one stacked (experts, out, in) tensor.
struct DenseExperts {
  enum class Input { kGateAndUp, kFusedGateUp, kUp } input = Input::kGateAndUp;
  Activation act = Activation::kSilu;
  std::vector<at::Tensor> first, second, down;  // first: gate, gate_up or up; second: up (kGateAndUp)
};

// x (sum(counts), H): expert e's counts[e] rows after expert e-1's. scale (sum(counts), 1), when
// defined, multiplies each output row (the product in the promoted dtype, the result in x's).
// Differentiable in x, scale and the weights; a matrix of an expert without rows gets no gradient
// (a stacked tensor gets zeros in its slice).
at::Tensor run_dense_experts(const DenseExperts& experts, const at::Tensor& x, const at::Tensor& scale,
                             const std::vector<int64_t>& counts);

}  // namespace automodel::models
