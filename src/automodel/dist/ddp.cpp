#include "automodel/dist/ddp.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/zeros_like.h>

namespace automodel::dist {

void all_reduce_gradients(ProcessGroup& group, const std::vector<train::TrainableParameter>& params,
                          double bucket_cap_mb) {
  at::NoGradGuard no_grad;
  const double cap = bucket_cap_mb * 1024 * 1024;
  std::vector<at::Tensor> bucket;
  double bytes = 0;
  auto flush = [&] {
    if (bucket.empty()) return;
    std::vector<at::Tensor> flat_views;
    for (auto& g : bucket) flat_views.push_back(g.reshape({-1}));
    auto flat = at::cat(flat_views);
    group.all_reduce_sum(flat);
    int64_t offset = 0;
    for (auto& g : bucket) {
      g.copy_(flat.narrow(0, offset, g.numel()).view(g.sizes()));
      offset += g.numel();
    }
    bucket.clear();
    bytes = 0;
  };
  for (const auto& p : params) {
    // A rank whose micro-batches never reached a parameter still joins the sum with zeros.
    if (!p.tensor->grad().defined()) p.tensor->mutable_grad() = at::zeros_like(*p.tensor);
    bucket.push_back(p.tensor->mutable_grad());
    bytes += static_cast<double>(p.tensor->grad().nbytes());
    if (bytes >= cap) flush();
  }
  flush();
}

}  // namespace automodel::dist
