// Multi-head attention pieces shared by all decoders: masks built from positions and document
// ids (so packed rows and KV caches need no special code), GQA without copying K/V, and a KV cache.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

namespace automodel::models {

// Which keys each query may see: causal by position, within the same document, within the
// sliding window if any (HF: key j visible from query i iff i - window < j <= i), and within the
// same chunk of `chunk` positions if any (Llama 4's chunked attention: j / chunk == i / chunk).
// q_pos: (B, Tq), k_pos: (B, Tk); docs optional (same shapes). Returns bool (B, 1, Tq, Tk).
at::Tensor attention_mask(const at::Tensor& q_pos, const at::Tensor& k_pos, const at::Tensor& q_doc,
                          const at::Tensor& k_doc, std::optional<int64_t> sliding_window,
                          std::optional<int64_t> chunk = std::nullopt);

// Which attention every model runs (HF's attn_implementation; process-wide like torch's SDP
// backend switches): LibTorch's fused scaled_dot_product_attention (default) or the eager
// reference below.
enum class AttentionImpl { kSdpa, kEager };
void set_attention_impl(AttentionImpl impl);
// "eager" | "sdpa" (HF's flash_attention_2/3 and flex_attention map to sdpa); else an error.
AttentionImpl parse_attention_impl(const std::string& name);

// q: (B, Hq, Tq, D), k/v: (B, Hkv, Tk, D), mask: bool (B, 1, Tq, Tk), true = visible
// -> (B, Hq, Tq, D), with the implementation chosen above. `softcap` > 0 (Gemma-2): scores are
// softcap * tanh(scores / softcap). `sinks` (Hq), when defined (gpt-oss): one extra logit per
// head in every softmax, dropped after it (so a row's weights sum to less than 1). Only the
// eager path computes either.
at::Tensor scaled_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                            double scale, double softcap = 0, const at::Tensor& sinks = {});
// Eager attention as HF computes it (scores in the input dtype, softmax in fp32): the reference.
at::Tensor eager_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                           double scale, double softcap = 0, const at::Tensor& sinks = {});

// Keys/values of previous tokens for incremental decoding.
struct KVCache {
  struct Layer {
    at::Tensor k, v;  // (B, Hkv, T_cached, D)
    // A recurrent or convolution mixer's (Gated DeltaNet, Mamba2, LFM2's short conv): its conv's
    // last inputs (B, K-1, C) and its recurrent state. Falcon-H1 layers hold both kinds.
    at::Tensor conv, state;
    // Another layer's keys/values, to attend with instead of computing and appending this
    // layer's own (KV sharing, Gemma 3n/4): only an attention that implements sharing gets one.
    bool shared = false;
  };
  std::vector<Layer> layers;
  at::Tensor positions;  // (B, T_cached) positions of cached keys
  at::Tensor documents;  // (B, T_cached) or undefined
  int64_t length() const { return positions.defined() ? positions.size(1) : 0; }
};

// This step's k/v (B, Hkv, T, D) appended to the layer's cache (when there is one, which then
// holds the result): the keys and values attention reads. A shared cache is an error.
void append_to_cache(KVCache::Layer* cache, at::Tensor& k, at::Tensor& v);

}  // namespace automodel::models
