#include "automodel/dist/ddp.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>

#include "automodel/common/error.h"

namespace automodel::dist {

struct GradientSynchronizer::Bucket {
  std::vector<size_t> params;
  at::Tensor flat;  // gradients, then one used flag per parameter
  int64_t used_offset = 0;
  size_t ready = 0;
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
    for (size_t j = 0; j < b.params.size(); ++j) {
      where_[b.params[j]] = {i, numel, static_cast<int64_t>(j)};
      numel += params_[b.params[j]].tensor->numel();
    }
    // After the gradients, one "had a gradient" flag per parameter: summed over ranks, zero
    // means no rank used the parameter, which then keeps no gradient (as one process would).
    b.used_offset = numel;
    b.flat = at::empty({numel + static_cast<int64_t>(b.params.size())}, params_[b.params.front()].tensor->options());
  }
  for (size_t k = 0; k < params_.size(); ++k)
    params_[k].tensor->register_hook([this, k](const at::Tensor& grad) {
      // An undefined gradient is none (an expert no token reached, in a grouped backward).
      if (armed_ && grad.defined()) on_gradient(k, grad);
      return at::Tensor();  // keep the gradient as is; finish() overwrites it with the sum
    });
}

GradientSynchronizer::~GradientSynchronizer() = default;

void GradientSynchronizer::begin_sync() {
  armed_ = true;
  next_launch_ = 0;
  for (auto& b : buckets_) {
    b->ready = 0;
  }
}

void GradientSynchronizer::on_gradient(size_t k, const at::Tensor& grad) {
  at::NoGradGuard no_grad;
  const auto& where = where_[k];
  auto& b = *buckets_[where.bucket];
  auto slot = b.flat.narrow(0, where.offset, params_[k].tensor->numel()).view(grad.sizes());
  // This micro-batch's gradient plus what earlier micro-batches accumulated.
  const auto& previous = params_[k].tensor->grad();
  if (previous.defined())
    at::add_out(slot, previous, grad);
  else
    slot.copy_(grad);
  b.flat[b.used_offset + where.index].fill_(1.0);
  if (++b.ready == b.params.size()) launch_ready_buckets();
}

// Collectives pair up by order, so every rank launches the buckets in index order: a bucket
// that is ready waits for the ones before it. (Which parameters get no gradient, e.g. experts no
// token was routed to, differs between ranks, and so would the order of readiness.)
void GradientSynchronizer::launch_ready_buckets() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_]->ready == buckets_[next_launch_]->params.size())
    launch(*buckets_[next_launch_++]);
}

void GradientSynchronizer::launch(Bucket& b) {
  b.pending = group_.all_reduce_sum_async(b.flat);
}

void GradientSynchronizer::finish() {
  AM_CHECK(armed_, "[dist] GradientSynchronizer::finish without begin_sync");
  armed_ = false;
  at::NoGradGuard no_grad;
  // The buckets not launched yet (some parameters got no gradient in this backward, or an
  // earlier bucket had not been launched), in index order as on every rank.
  for (; next_launch_ < buckets_.size(); ++next_launch_) {
    auto& b = *buckets_[next_launch_];
    for (size_t k : b.params) {
      const auto& where = where_[k];
      auto slot = b.flat.narrow(0, where.offset, params_[k].tensor->numel());
      const auto& g = params_[k].tensor->grad();
      if (g.defined())
        slot.copy_(g.reshape({-1}));
      else
        slot.zero_();
      b.flat[b.used_offset + where.index].fill_(g.defined() ? 1.0 : 0.0);
    }
    launch(b);
  }
  for (auto& bp : buckets_) {
    auto& b = *bp;
    b.pending->wait();
    // One host copy of the flags per bucket (not a device sync per parameter).
    auto used = b.flat.narrow(0, b.used_offset, static_cast<int64_t>(b.params.size())).gt(0).cpu();
    const bool* used_by_any = used.data_ptr<bool>();
    for (size_t k : b.params) {
      auto& param = *params_[k].tensor;
      const auto& where = where_[k];
      if (!used_by_any[where.index]) continue;  // no rank used it: no gradient
      auto summed = b.flat.narrow(0, where.offset, param.numel()).view(param.sizes());
      if (param.grad().defined())
        param.mutable_grad().copy_(summed);
      else
        param.mutable_grad() = summed.clone();
    }
  }
}

}  // namespace automodel::dist
