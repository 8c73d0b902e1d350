#include "automodel/models/common/attention.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/scaled_dot_product_attention.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/tanh.h>

#include <atomic>
#include <limits>

#include "automodel/common/error.h"

namespace automodel::models {

at::Tensor attention_mask(const at::Tensor& q_pos, const at::Tensor& k_pos, const at::Tensor& q_doc,
                          const at::Tensor& k_doc, std::optional<int64_t> sliding_window,
                          std::optional<int64_t> chunk) {
  auto qp = q_pos.unsqueeze(-1), kp = k_pos.unsqueeze(-2);  // (B, Tq, 1), (B, 1, Tk)
  auto mask = kp <= qp;
  if (sliding_window) mask = mask.logical_and((qp - kp) < *sliding_window);
  if (chunk) mask = mask.logical_and(qp.div(*chunk, "floor") == kp.div(*chunk, "floor"));
  if (q_doc.defined()) mask = mask.logical_and(q_doc.unsqueeze(-1) == k_doc.unsqueeze(-2));
  return mask.unsqueeze(1);
}

void append_to_cache(KVCache::Layer* cache, at::Tensor& k, at::Tensor& v) {
  if (!cache) return;
  AM_CHECK(!cache->shared, "internal: an attention without KV sharing was handed another layer's keys/values");
  if (cache->k.defined()) {
    k = at::cat({cache->k, k}, 2);
    v = at::cat({cache->v, v}, 2);
  }
  cache->k = k;
  cache->v = v;
}

namespace {
std::atomic<AttentionImpl> g_attention_impl{AttentionImpl::kSdpa};
}  // namespace

void set_attention_impl(AttentionImpl impl) { g_attention_impl = impl; }

AttentionImpl parse_attention_impl(const std::string& name) {
  if (name == "eager") return AttentionImpl::kEager;
  // HF's fused choices all mean "the fused kernel LibTorch has" here.
  if (name == "sdpa" || name == "flash_attention_2" || name == "flash_attention_3" || name == "flex_attention")
    return AttentionImpl::kSdpa;
  AM_FAIL("[model] attn_implementation '{}': expected eager or sdpa (flash_attention_2/3 and flex_attention "
          "run as sdpa)", name);
}

at::Tensor scaled_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                            double scale, double softcap, const at::Tensor& sinks) {
  if (g_attention_impl == AttentionImpl::kEager || softcap > 0 || sinks.defined())
    return eager_attention(q, k, v, mask, scale, softcap, sinks);
  // LibTorch's fused kernel (flash attention on CPU and CUDA): no (Tq x Tk) scores kept for
  // backward; equal to the eager path up to summation order (tested).
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale, /*enable_gqa=*/true);
}

at::Tensor eager_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                            double scale, double softcap, const at::Tensor& sinks) {
  const int64_t B = q.size(0), Hq = q.size(1), Tq = q.size(2), D = q.size(3);
  const int64_t Hkv = k.size(1), Tk = k.size(2), group = Hq / Hkv;
  // GQA: fold the query heads of a group into the row dimension so each K/V head is used as is.
  auto qg = q.reshape({B, Hkv, group * Tq, D});
  auto scores = at::matmul(qg, k.transpose(-1, -2)) * scale;       // (B, Hkv, group*Tq, Tk)
  if (softcap > 0) scores = at::tanh(scores / softcap) * softcap;
  auto m = mask.view({B, 1, 1, Tq, Tk}).expand({B, 1, group, Tq, Tk}).reshape({B, 1, group * Tq, Tk});
  scores = scores.masked_fill(m.logical_not(), -std::numeric_limits<double>::infinity());
  if (sinks.defined()) {
    // Query head h = kv_head * group + g: its sink as one more column, dropped after the softmax.
    auto sink = sinks.to(scores.scalar_type()).view({1, Hkv, group, 1, 1}).expand({B, Hkv, group, Tq, 1});
    scores = at::cat({scores, sink.reshape({B, Hkv, group * Tq, 1})}, -1);
    auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type()).narrow(-1, 0, Tk);
    return at::matmul(probs, v).view({B, Hq, Tq, v.size(-1)});
  }
  auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  // (B, Hkv, group*Tq, Dv) -> (B, Hq, Tq, Dv); Dv may differ from D (DeepSeek's MLA)
  return at::matmul(probs, v).view({B, Hq, Tq, v.size(-1)});
}

}  // namespace automodel::models
