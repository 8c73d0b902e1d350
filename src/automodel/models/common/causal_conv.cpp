#include "automodel/models/common/causal_conv.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/zeros.h>

#include <vector>

namespace automodel::models {

at::Tensor visible_positions(const at::Tensor& mask, int64_t back) {
  const int64_t B = mask.size(0), T = mask.size(2), offset = mask.size(-1) - T;  // offset: cached positions
  auto cols = at::arange(T, mask.options().dtype(at::kLong)) + (offset - back);
  auto picked = mask.select(1, 0).gather(2, cols.clamp_min(0).view({1, T, 1}).expand({B, T, 1})).squeeze(-1);
  return picked.logical_and((cols >= 0).unsqueeze(0));
}

at::Tensor causal_depthwise_conv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                 const at::Tensor& mask, at::Tensor* history) {
  const int64_t B = x.size(0), T = x.size(1), K = weight.size(-1);
  auto before = history && history->defined() ? *history : at::zeros({B, K - 1, x.size(-1)}, x.options());
  auto extended = at::cat({before, x}, 1);  // (B, K-1+T, C)
  if (history) *history = extended.narrow(1, extended.size(1) - (K - 1), K - 1);
  extended = extended.to(at::kFloat);
  auto w = weight.squeeze(1).to(at::kFloat);  // (C, K)
  at::Tensor out = bias.defined() ? bias.to(at::kFloat).expand({B, T, x.size(-1)}) : at::Tensor();
  for (int64_t i = 0; i < K; ++i) {
    const int64_t back = K - 1 - i;  // this tap reads position t - back
    auto tap = extended.narrow(1, i, T) * w.select(1, i);
    if (back > 0) tap = tap * visible_positions(mask, back).unsqueeze(-1).to(tap.scalar_type());
    out = out.defined() ? out + tap : tap;
  }
  return out.to(x.scalar_type());
}

at::Tensor per_document(const at::Tensor& mask,
                        const std::function<at::Tensor(int64_t row, int64_t begin, int64_t length)>& segment) {
  const int64_t B = mask.size(0), T = mask.size(2);
  if (T < 2) return {};
  auto starts = visible_positions(mask, 1).logical_not();  // (B, T): a document begins here
  if (!starts.narrow(1, 1, T - 1).any().item<bool>()) return {};
  auto host = starts.cpu();
  const auto* begins = host.data_ptr<bool>();
  std::vector<at::Tensor> rows;
  for (int64_t row = 0; row < B; ++row) {
    std::vector<at::Tensor> pieces;
    int64_t begin = 0;
    for (int64_t t = 1; t <= T; ++t) {
      if (t < T && !begins[row * T + t]) continue;
      pieces.push_back(segment(row, begin, t - begin));
      begin = t;
    }
    rows.push_back(at::cat(pieces, 1));
  }
  return at::cat(rows, 0);
}

}  // namespace automodel::models
