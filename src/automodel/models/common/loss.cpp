#include "automodel/models/common/loss.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/full.h>

namespace automodel::models {

at::Tensor shift_labels(const at::Tensor& labels) {
  auto pad = at::full({labels.size(0), 1}, kIgnoreIndex, labels.options());
  return at::cat({labels.narrow(1, 1, labels.size(1) - 1), pad}, 1);
}

at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels) {
  auto targets = shift_labels(labels).reshape({-1});
  return at::cross_entropy_loss(logits.to(at::kFloat).reshape({-1, logits.size(-1)}), targets, {},
                                at::Reduction::Mean, kIgnoreIndex);
}

}  // namespace automodel::models
