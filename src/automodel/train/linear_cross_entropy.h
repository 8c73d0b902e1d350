// Cross-entropy over the vocabulary fused with the output projection, chunk by chunk: the
// (tokens x vocab) logits never exist at once, and only tokens with a target are projected.
// Gradients for hidden states and weight are formed in the same pass and scaled in backward.
#pragma once

#include <ATen/core/Tensor.h>

namespace automodel::models {
struct OutputHead;
}

namespace automodel::train {

// hidden: (B, T, H) or (N, H); head.weight: (V, H); targets: same leading shape, int, -100 =
// ignore. The head's scale and softcap apply to each chunk's logits as in head.finish().
// Returns the SUM of token losses (fp32 scalar), differentiable w.r.t. hidden and weight.
at::Tensor linear_cross_entropy_sum(const at::Tensor& hidden, const models::OutputHead& head,
                                    const at::Tensor& targets, int64_t chunk_tokens = 0);
// A plain head (no scale, no softcap) of `weight`.
at::Tensor linear_cross_entropy_sum(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                    int64_t chunk_tokens = 0);

// Rows per chunk so one chunk's fp32 logits take about 64 MiB.
int64_t default_chunk_tokens(int64_t vocab_size);

}  // namespace automodel::train
