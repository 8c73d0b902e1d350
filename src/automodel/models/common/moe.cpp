#include "automodel/models/common/moe.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/one_hot.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/topk.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>

namespace automodel::models {

GatedMlp::GatedMlp(int64_t hidden, int64_t intermediate, bool bias, Activation act, const GatedMlpNames& names,
                   const at::TensorOptions& options)
    : act_(act) {
  gate_ = add_module<LinearLayer>(names.gate, std::make_unique<Linear>(hidden, intermediate, bias, options));
  up_ = add_module<LinearLayer>(names.up, std::make_unique<Linear>(hidden, intermediate, bias, options));
  down_ = add_module<LinearLayer>(names.down, std::make_unique<Linear>(intermediate, hidden, bias, options));
}

at::Tensor GatedMlp::forward(const at::Tensor& x) const {
  return down_->forward(activate(act_, gate_->forward(x)) * up_->forward(x));
}

SparseMoe::SparseMoe(int64_t hidden, const MoeOptions& options, Activation act, const at::TensorOptions& tensor_options)
    : options_(options) {
  gate_ = add_module<LinearLayer>("gate", std::make_unique<Linear>(hidden, options.num_experts, false, tensor_options));
  experts_ = add_module("experts", std::make_unique<ModuleList<GatedMlp>>());
  for (int64_t e = 0; e < options.num_experts; ++e)
    experts_->append(std::make_unique<GatedMlp>(hidden, options.expert_intermediate, false, act,
                                                options.expert_names, tensor_options));
}

at::Tensor load_balancing_loss(const std::vector<at::Tensor>& router_logits, int64_t num_experts, int64_t top_k,
                               const at::Tensor& real_tokens) {
  auto logits = at::cat(router_logits, 0);                          // (L*N, E)
  auto probs = at::softmax(logits, -1);
  auto selected = std::get<1>(at::topk(probs, top_k, -1));          // (L*N, k)
  auto expert_mask = at::one_hot(selected, num_experts).to(at::kFloat);  // (L*N, k, E)
  at::Tensor tokens_per_expert, prob_per_expert;                    // (k, E), (E)
  if (real_tokens.defined()) {
    // Padding is routed too, but HF's means run over real tokens only: weighted means (no
    // index selection, so no device->host sync on CUDA).
    auto w = real_tokens.reshape({-1}).to(at::kFloat).repeat({static_cast<int64_t>(router_logits.size())});  // (L*N)
    auto count = w.sum();
    tokens_per_expert = (expert_mask * w.view({-1, 1, 1})).sum(0) / count;
    prob_per_expert = (probs * w.view({-1, 1}).to(probs.scalar_type())).sum(0) / count;
  } else {
    tokens_per_expert = expert_mask.mean(0);
    prob_per_expert = probs.mean(0);
  }
  return (tokens_per_expert * prob_per_expert.unsqueeze(0)).sum() * static_cast<double>(num_experts);
}

std::pair<at::Tensor, at::Tensor> SparseMoe::forward(const at::Tensor& x) const {
  auto shape = x.sizes().vec();
  auto flat = x.reshape({-1, shape.back()});                    // (N, H)
  auto router_logits = gate_->forward(flat);                   // (N, E)
  auto probs = at::softmax(router_logits, 1, at::kFloat);
  auto [weights, experts] = at::topk(probs, options_.top_k, -1);  // (N, k)
  if (options_.normalize_top_k) weights = weights / weights.sum(-1, /*keepdim=*/true);
  weights = weights.to(x.scalar_type());
  auto out = at::zeros_like(flat);
  // Route token subsets to each expert that received any (index_add keeps autograd exact).
  for (int64_t e = 0; e < options_.num_experts; ++e) {
    auto hits = (experts == e).nonzero();  // (n_e, 2): token, slot
    if (hits.size(0) == 0) continue;
    auto tokens = hits.select(1, 0), slots = hits.select(1, 1);
    auto expert_out = (*experts_)[e].forward(flat.index_select(0, tokens));
    auto w = weights.reshape({-1}).index_select(0, tokens * options_.top_k + slots).unsqueeze(-1);
    out = out.index_add(0, tokens, expert_out * w);
  }
  return {out.view(shape), router_logits};
}

}  // namespace automodel::models
