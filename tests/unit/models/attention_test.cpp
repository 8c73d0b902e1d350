// Attention masks (causal, sliding window, documents) and GQA attention against a plain
// repeat-the-KV-heads reference.
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/repeat_interleave.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/tensor.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <limits>

#include "automodel/common/error.h"
#include "automodel/models/common/attention.h"

namespace automodel::models {
namespace {

at::Tensor positions(int64_t T) { return at::arange(T, at::kLong).view({1, T}); }

TEST(AttentionMask, SlidingWindowSeesExactlyTheLastWKeys) {
  auto mask = attention_mask(positions(8), positions(8), {}, {}, 3).squeeze();  // (8, 8)
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 8; ++j)
      EXPECT_EQ(mask[i][j].item<bool>(), j <= i && i - j < 3) << i << "," << j;
}

TEST(AttentionMask, DocumentsDoNotSeeEachOther) {
  auto pos = at::tensor(std::vector<int64_t>{0, 1, 2, 0, 1}).view({1, 5});
  auto doc = at::tensor(std::vector<int64_t>{0, 0, 0, 1, 1}).view({1, 5});
  auto mask = attention_mask(pos, pos, doc, doc, std::nullopt).squeeze();
  EXPECT_TRUE(mask[4][3].item<bool>());
  EXPECT_FALSE(mask[3][2].item<bool>());
  EXPECT_FALSE(mask[4][0].item<bool>());
  EXPECT_TRUE(mask[2][0].item<bool>());
}

TEST(Attention, GroupedQueryMatchesRepeatedKvReference) {
  const int64_t B = 2, Hq = 6, Hkv = 2, T = 5, D = 4;
  auto q = at::randn({B, Hq, T, D}), k = at::randn({B, Hkv, T, D}), v = at::randn({B, Hkv, T, D});
  auto mask = attention_mask(positions(T).expand({B, T}), positions(T).expand({B, T}), {}, {}, std::nullopt);
  double scale = 1.0 / std::sqrt(static_cast<double>(D));
  auto got = scaled_attention(q, k, v, mask, scale);
  // Reference: HF repeat_kv (each KV head serves Hq/Hkv consecutive query heads).
  auto kr = at::repeat_interleave(k, Hq / Hkv, 1), vr = at::repeat_interleave(v, Hq / Hkv, 1);
  auto scores = at::matmul(q, kr.transpose(-1, -2)) * scale;
  scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<double>::infinity());
  auto want = at::matmul(at::softmax(scores, -1), vr);
  EXPECT_TRUE(at::allclose(got, want, 1e-5, 1e-6));
}

// The fused kernel against the eager reference, forward and gradients, with GQA, a sliding
// window and packed documents (the masks training uses), in fp32.
TEST(Attention, FusedSdpaMatchesEagerReferenceWithGradients) {
  const int64_t B = 2, Hq = 6, Hkv = 2, T = 37, D = 16;
  std::vector<int64_t> p(T), d(T);
  for (int64_t t = 0; t < T; ++t) p[t] = t < 20 ? t : t - 20, d[t] = t < 20 ? 0 : 1;
  auto positions2 = at::tensor(p).view({1, T}).expand({B, T}), docs = at::tensor(d).view({1, T}).expand({B, T});
  for (std::optional<int64_t> window : {std::optional<int64_t>{}, std::optional<int64_t>{7}}) {
    auto mask = attention_mask(positions2, positions2, docs, docs, window);
    auto q = at::randn({B, Hq, T, D}).requires_grad_(), k = at::randn({B, Hkv, T, D}).requires_grad_(),
         v = at::randn({B, Hkv, T, D}).requires_grad_();
    auto upstream = at::randn({B, Hq, T, D});
    auto grads_of = [&](AttentionImpl impl) {
      set_attention_impl(impl);
      auto out = scaled_attention(q, k, v, mask, 0.25);
      auto g = torch::autograd::grad({out}, {q, k, v}, {upstream});
      return std::vector<at::Tensor>{out.detach(), g[0], g[1], g[2]};
    };
    auto fused = grads_of(AttentionImpl::kSdpa), eager = grads_of(AttentionImpl::kEager);
    set_attention_impl(AttentionImpl::kSdpa);
    for (size_t i = 0; i < fused.size(); ++i) {
      double rel = (fused[i] - eager[i]).abs().max().item<double>() / eager[i].abs().max().item<double>();
      EXPECT_LT(rel, 1e-5) << "tensor " << i << " (0: output, 1-3: dq, dk, dv), window " << window.value_or(0);
    }
  }
}

TEST(Attention, ImplementationNamesFollowHf) {
  EXPECT_EQ(parse_attention_impl("eager"), AttentionImpl::kEager);
  EXPECT_EQ(parse_attention_impl("sdpa"), AttentionImpl::kSdpa);
  EXPECT_EQ(parse_attention_impl("flash_attention_2"), AttentionImpl::kSdpa);
  EXPECT_THROW(parse_attention_impl("paged"), Error);
}

}  // namespace
}  // namespace automodel::models

#include "automodel/models/common/moe.h"

namespace automodel::models {
namespace {

TEST(MoeLoss, LoadBalancingLossMatchesHandComputedValue) {
  // Two tokens, two experts, top-1: both route to expert 0; mean probabilities (0.625, 0.375).
  auto logits = at::tensor(std::vector<float>{0.f, 0.f, std::log(3.f), 0.f}).view({2, 2});
  auto loss = load_balancing_loss({logits}, 2, 1);
  EXPECT_NEAR(loss.item<double>(), 2 * (1.0 * 0.625 + 0.0 * 0.375), 1e-6);
  // Layers are concatenated along tokens: two identical layers give the same value.
  EXPECT_NEAR(load_balancing_loss({logits, logits}, 2, 1).item<double>(), 1.25, 1e-6);
}

TEST(MoeLoss, PaddingRowsDoNotCountInTheLoadBalancingLoss) {
  // Two layers over (B=2, T=3) tokens whose last position of row 1 is padding: equal to the
  // loss over the five real tokens alone, and different from counting the padding.
  at::manual_seed(7);  // fixed logits: the test ran unseeded and failed for about 1 draw in 70
  auto layer0 = at::randn({6, 4}), layer1 = at::randn({6, 4});
  auto real = at::tensor(std::vector<uint8_t>{1, 1, 1, 1, 1, 0}).to(at::kBool).view({2, 3});
  auto keep = at::tensor(std::vector<int64_t>{0, 1, 2, 3, 4});
  auto masked = load_balancing_loss({layer0, layer1}, 4, 2, real).item<double>();
  auto real_only = load_balancing_loss({layer0.index_select(0, keep), layer1.index_select(0, keep)}, 4, 2).item<double>();
  EXPECT_NEAR(masked, real_only, 1e-6);
  EXPECT_GT(std::abs(load_balancing_loss({layer0, layer1}, 4, 2).item<double>() - real_only), 1e-6);
}

}  // namespace
}  // namespace automodel::models
