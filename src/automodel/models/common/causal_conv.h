// The causal depthwise convolution of linear-attention and convolution mixers (Gated DeltaNet's
// conv1d, LFM2's short conv): each channel of a token mixes the K-1 tokens before it of the same
// document, read through the attention mask, so packed documents and cached decoding are exact.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

namespace automodel::models {

// (B, T) bool: whether position t - back is visible from each position t of this forward, per
// `mask` (B, 1, T, T_cached + T), the layer's boolean attention mask (causal, same document).
at::Tensor visible_positions(const at::Tensor& mask, int64_t back);

// x (B, T, C), weight (C, 1, K), bias (C) or undefined -> (B, T, C): y_t = sum_j w_j x_{t-K+1+j}
// (+ bias), taps outside the token's document or before the start reading zero. Summed in fp32 and
// rounded once to x's dtype. `history` (optional): the previous K-1 inputs (B, K-1, C), undefined
// for none; replaced with this forward's last K-1.
at::Tensor causal_depthwise_conv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                 const at::Tensor& mask, at::Tensor* history = nullptr);

// Recurrent mixers over packed rows: when some row of this forward holds several documents (a
// token cannot see its predecessor, per `mask`), runs `segment(row, begin, length)` -> (1, length,
// ...) on each document of each row and joins the pieces back into (B, T, ...); else returns an
// undefined tensor (run the batch at once). Asks the host once per call.
at::Tensor per_document(const at::Tensor& mask,
                        const std::function<at::Tensor(int64_t row, int64_t begin, int64_t length)>& segment);

}  // namespace automodel::models
