// Multi-head attention pieces shared by all decoders: masks built from positions and document
// ids (so packed rows and KV caches need no special code), GQA without copying K/V, and a KV cache.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

namespace automodel::models {

// Which keys each query may see: causal by position, within the same document, and within the
// sliding window if any (HF: key j visible from query i iff i - window < j <= i).
// q_pos: (B, Tq), k_pos: (B, Tk); docs optional (same shapes). Returns bool (B, 1, Tq, Tk).
at::Tensor attention_mask(const at::Tensor& q_pos, const at::Tensor& k_pos, const at::Tensor& q_doc,
                          const at::Tensor& k_doc, std::optional<int64_t> sliding_window);

// Eager attention as HF computes it (scores in the input dtype, softmax in fp32).
// q: (B, Hq, Tq, D), k/v: (B, Hkv, Tk, D), mask: (B, 1, Tq, Tk) -> (B, Hq, Tq, D)
at::Tensor scaled_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                            double scale);

// Keys/values of previous tokens for incremental decoding.
struct KVCache {
  struct Layer {
    at::Tensor k, v;  // (B, Hkv, T_cached, D)
  };
  std::vector<Layer> layers;
  at::Tensor positions;  // (B, T_cached) positions of cached keys
  at::Tensor documents;  // (B, T_cached) or undefined
  int64_t length() const { return positions.defined() ? positions.size(1) : 0; }
};

}  // namespace automodel::models
