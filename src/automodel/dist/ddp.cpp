#include "automodel/dist/ddp.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>

#include "automodel/common/error.h"

namespace automodel::dist {

struct GradientSynchronizer::Bucket {
  std::vector<size_t> params;
  at::Tensor flat;
  size_t ready = 0;
  bool launched = false;
  std::unique_ptr<PendingReduce> pending;
};

GradientSynchronizer::GradientSynchronizer(ProcessGroup& group, std::vector<train::TrainableParameter> params,
                                           double bucket_cap_mb)
    : group_(group), params_(std::move(params)) {
  const double cap = bucket_cap_mb * 1024 * 1024;
  where_.resize(params_.size());
  double bytes = cap;  // start a bucket at the first parameter
  for (size_t k = params_.size(); k-- > 0;) {  // backward produces gradients roughly in reverse order
    if (bytes >= cap) {
      buckets_.push_back(std::make_unique<Bucket>());
      bytes = 0;
    }
    auto& b = *buckets_.back();
    b.params.push_back(k);
    bytes += static_cast<double>(params_[k].tensor->nbytes());
  }
  for (size_t i = 0; i < buckets_.size(); ++i) {
    auto& b = *buckets_[i];
    int64_t numel = 0;
    for (size_t k : b.params) {
      where_[k] = {i, numel};
      numel += params_[k].tensor->numel();
    }
    b.flat = at::empty({numel}, params_[b.params.front()].tensor->options());
  }
  for (size_t k = 0; k < params_.size(); ++k)
    params_[k].tensor->register_hook([this, k](const at::Tensor& grad) {
      if (armed_) on_gradient(k, grad);
      return at::Tensor();  // keep the gradient as is; finish() overwrites it with the sum
    });
}

GradientSynchronizer::~GradientSynchronizer() = default;

void GradientSynchronizer::begin_sync() {
  armed_ = true;
  for (auto& b : buckets_) {
    b->ready = 0;
    b->launched = false;
  }
}

void GradientSynchronizer::on_gradient(size_t k, const at::Tensor& grad) {
  at::NoGradGuard no_grad;
  auto [i, offset] = where_[k];
  auto& b = *buckets_[i];
  auto slot = b.flat.narrow(0, offset, params_[k].tensor->numel()).view(grad.sizes());
  // This micro-batch's gradient plus what earlier micro-batches accumulated.
  const auto& previous = params_[k].tensor->grad();
  if (previous.defined())
    at::add_out(slot, previous, grad);
  else
    slot.copy_(grad);
  if (++b.ready == b.params.size()) launch(b);
}

void GradientSynchronizer::launch(Bucket& b) {
  b.pending = group_.all_reduce_sum_async(b.flat);
  b.launched = true;
}

void GradientSynchronizer::finish() {
  AM_CHECK(armed_, "[dist] GradientSynchronizer::finish without begin_sync");
  armed_ = false;
  at::NoGradGuard no_grad;
  // Buckets whose parameters did not all get a gradient in this backward (unused ones), in the
  // same order on every rank.
  for (auto& bp : buckets_) {
    auto& b = *bp;
    if (b.launched) continue;
    for (size_t k : b.params) {
      auto [i, offset] = where_[k];
      auto slot = b.flat.narrow(0, offset, params_[k].tensor->numel());
      const auto& g = params_[k].tensor->grad();
      if (g.defined())
        slot.copy_(g.reshape({-1}));
      else
        slot.zero_();
    }
    launch(b);
  }
  for (auto& bp : buckets_) {
    auto& b = *bp;
    b.pending->wait();
    for (size_t k : b.params) {
      auto& param = *params_[k].tensor;
      auto summed = b.flat.narrow(0, where_[k].second, param.numel()).view(param.sizes());
      if (param.grad().defined())
        param.mutable_grad().copy_(summed);
      else
        param.mutable_grad() = summed.clone();
    }
  }
}

}  // namespace automodel::dist
