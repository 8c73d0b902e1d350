#include "automodel/train/adamw.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros_like.h>

#include <cmath>
#include <map>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"

namespace automodel::train {

AdamW::AdamW(std::vector<TrainableParameter> params, config::OptimizerSection options)
    : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    AM_CHECK(p.tensor->scalar_type() == at::kFloat, "[optim] {} is {}, expected fp32 master weights", p.name,
             scalar_type_name(p.tensor->scalar_type()));
    exp_avg_.push_back(at::zeros_like(*p.tensor));
    exp_avg_sq_.push_back(at::zeros_like(*p.tensor));
  }
  param_steps_.assign(params_.size(), 0);
}

void AdamW::zero_grad() {
  for (auto& p : params_)
    if (p.tensor->grad().defined()) p.tensor->mutable_grad().reset();
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  ++step_;
  const auto& o = options_;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& param = *params_[i].tensor;
    auto grad = param.grad();
    // No gradient: a routed expert that received no tokens. HF (v5) stores experts as fused
    // tensors whose unused rows get zero gradients, so torch's AdamW still decays them and their
    // moments: step them with a zero gradient too.
    if (!grad.defined()) grad = at::zeros_like(param);
    const auto t = static_cast<double>(++param_steps_[i]);
    double bias1 = 1.0 - std::pow(o.beta1, t), bias2 = 1.0 - std::pow(o.beta2, t);
    if (o.weight_decay != 0) {
      if (o.decoupled_weight_decay)
        param.mul_(1.0 - lr * o.weight_decay);
      else
        grad = grad + param * o.weight_decay;  // Adam: L2 on the gradient
    }
    exp_avg_[i].lerp_(grad, 1.0 - o.beta1);
    exp_avg_sq_[i].mul_(o.beta2).addcmul_(grad, grad, 1.0 - o.beta2);
    auto denom = (exp_avg_sq_[i].sqrt() / std::sqrt(bias2)).add_(o.eps);
    param.addcdiv_(exp_avg_[i], denom, -lr / bias1);
  }
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(params_[i].name + ".exp_avg", exp_avg_[i]);
    out.emplace_back(params_[i].name + ".exp_avg_sq", exp_avg_sq_[i]);
    // fp32 like torch's state["step"]; exact up to 2^24 steps.
    out.emplace_back(params_[i].name + ".step", at::scalar_tensor(static_cast<double>(param_steps_[i]), at::kFloat));
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors, int64_t step) {
  std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto [suffix, dst] : {std::pair{".exp_avg", &exp_avg_[i]}, std::pair{".exp_avg_sq", &exp_avg_sq_[i]}}) {
      auto it = by_name.find(params_[i].name + suffix);
      AM_CHECK(it != by_name.end(), "[checkpoint] optimizer state has no '{}{}' (was the run started with another "
               "peft/model config?)", params_[i].name, suffix);
      AM_CHECK(it->second.sizes() == dst->sizes(), "[checkpoint] optimizer state '{}{}' has shape {}, expected {}",
               params_[i].name, suffix, format_shape(it->second.sizes().vec()), format_shape(dst->sizes().vec()));
      dst->copy_(it->second);
    }
  }
  size_t with_steps = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto it = by_name.find(params_[i].name + ".step");
    param_steps_[i] = it == by_name.end() ? step : static_cast<int64_t>(it->second.item<double>());
    with_steps += it != by_name.end();
  }
  AM_CHECK(with_steps == 0 || with_steps == params_.size(), "[checkpoint] optimizer state has a step for {} of {} "
           "parameters", with_steps, params_.size());
  AM_CHECK(by_name.size() == (2 * params_.size() + with_steps), "[checkpoint] optimizer state holds {} tensors, "
           "expected {}", by_name.size(), 2 * params_.size() + with_steps);
  step_ = step;
}

double clip_grad_norm(const std::vector<TrainableParameter>& params, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> norms;
  for (const auto& p : params)
    if (p.tensor->grad().defined()) norms.push_back(p.tensor->grad().norm(2).to(at::kFloat));
  if (norms.empty()) return 0.0;
  double total = at::stack(norms).norm(2).item<double>();
  if (max_norm > 0 && total > max_norm) {
    double scale = max_norm / (total + 1e-6);
    for (const auto& p : params)
      if (p.tensor->grad().defined()) p.tensor->mutable_grad().mul_(scale);
  }
  return total;
}

}  // namespace automodel::train
