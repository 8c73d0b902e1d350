#include "automodel/models/common/moe.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/bincount.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/one_hot.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/topk.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>

#include <limits>
#include <vector>

#include "automodel/models/common/grouped_experts.h"

namespace automodel::models {

at::Tensor ExpertBank::forward_groups(const at::Tensor& grouped, const at::Tensor& scale,
                                      const std::vector<int64_t>& counts) const {
  // One split, not a narrow per expert: each narrow's backward would write a gradient the size of
  // all the rows (E x (N*k, H) zero-fills); the split's is one concatenation.
  auto groups = grouped.split_with_sizes(counts);
  std::vector<at::Tensor> outputs;
  for (int64_t e = 0; e < num_experts(); ++e)
    if (counts[static_cast<size_t>(e)] > 0) outputs.push_back(forward(e, groups[static_cast<size_t>(e)]));
  auto out = at::cat(outputs);
  return scale.defined() ? (out * scale).to(grouped.scalar_type()) : out;
}

at::Tensor ExpertList::forward_groups(const at::Tensor& grouped, const at::Tensor& scale,
                                      const std::vector<int64_t>& counts) const {
  DenseExperts dense;
  for (size_t e = 0; e < num_children(); ++e) {
    auto w = static_cast<const Mlp*>(child_at(e))->dense_weights();
    if (!w || (e > 0 && dense.act != w->act)) return ExpertBank::forward_groups(grouped, scale, counts);  // adapters
    dense.act = w->act;
    dense.input = w->gate.defined()      ? DenseExperts::Input::kGateAndUp
                  : w->gate_up.defined() ? DenseExperts::Input::kFusedGateUp
                                         : DenseExperts::Input::kUp;
    dense.first.push_back(w->gate.defined() ? w->gate : w->gate_up.defined() ? w->gate_up : w->up);
    if (w->gate.defined()) dense.second.push_back(w->up);
    dense.down.push_back(w->down);
  }
  return run_dense_experts(dense, grouped, scale, counts);
}

StackedExperts::StackedExperts(int64_t num_experts, int64_t hidden, int64_t width, bool gated, Activation act,
                               const at::TensorOptions& o, const std::pair<std::string, std::string>& names)
    : gated_(gated), act_(act) {
  const auto& in_name = names.first.empty() ? std::string(gated ? "gate_up_proj" : "up_proj") : names.first;
  in_ = add_parameter(in_name, at::empty({num_experts, (gated ? 2 : 1) * width, hidden}, o));
  down_ = add_parameter(names.second.empty() ? std::string("down_proj") : names.second,
                        at::empty({num_experts, hidden, width}, o));
}

at::Tensor StackedExperts::forward_groups(const at::Tensor& grouped, const at::Tensor& scale,
                                          const std::vector<int64_t>& counts) const {
  DenseExperts dense;
  dense.input = gated_ ? DenseExperts::Input::kFusedGateUp : DenseExperts::Input::kUp;
  dense.act = act_;
  dense.first = {*in_};
  dense.down = {*down_};
  return run_dense_experts(dense, grouped, scale, counts);
}

at::Tensor StackedExperts::forward(int64_t e, const at::Tensor& x) const {
  auto in = at::linear(x, (*in_)[e]);
  if (gated_) {
    auto gate_up = in.chunk(2, -1);
    return at::linear(activate(act_, gate_up[0]) * gate_up[1], (*down_)[e]);
  }
  return at::linear(activate(act_, in), (*down_)[e]);
}

SparseMoe::SparseMoe(int64_t hidden, const MoeOptions& options, const at::TensorOptions& tensor_options)
    : options_(options) {
  gate_ = add_module<LinearLayer>(
      options.router_name, std::make_unique<Linear>(hidden, options.num_experts, options.router_bias, tensor_options));
  if (options.make_experts && options.experts_name.empty()) {
    experts_ = add_inline_module<ExpertBank>(options.make_experts(hidden, options, tensor_options));
  } else if (options.make_experts) {
    experts_ = add_module(options.experts_name, options.make_experts(hidden, options, tensor_options));
  } else {
    auto experts = std::make_unique<ExpertList>();
    for (int64_t e = 0; e < options.num_experts; ++e)
      experts->append(make_mlp(hidden, options.expert_intermediate, options.expert, tensor_options));
    experts_ = add_module<ExpertBank>(options.experts_name, std::move(experts));
  }
  if (options.shared_expert_intermediate > 0) {
    auto shared = options.expert;
    shared.names = MlpNames{};
    shared_ = add_module(options.shared_expert_name,
                         make_mlp(hidden, options.shared_expert_intermediate, shared, tensor_options));
    if (!options.shared_expert_gate_name.empty())
      shared_gate_ = add_module<LinearLayer>(options.shared_expert_gate_name,
                                             std::make_unique<Linear>(hidden, 1, false, tensor_options));
  }
  // HF keeps it in fp32 whatever the model dtype (_keep_in_fp32_modules). Its name may be dotted
  // ("gate.e_score_correction_bias"): it sits next to the router's weight in the checkpoint.
  if (!options.correction_bias_name.empty())
    correction_bias_ = add_buffer(options.correction_bias_name,
                                  at::empty(options.correction_bias_shape, tensor_options.dtype(at::kFloat)));
}

SparseMoe::Routing SparseMoe::route(const at::Tensor& flat) const {
  auto logits = options_.router_in_fp32 ? at::linear(flat.to(at::kFloat), gate_->weight().to(at::kFloat))
                                        : gate_->forward(flat);  // (N, E)
  if (options_.scoring == MoeOptions::Scoring::kTopKSoftmax || options_.scoring == MoeOptions::Scoring::kTopKSigmoid) {
    auto [top, experts] = at::topk(logits, options_.top_k, -1);
    auto weights = options_.scoring == MoeOptions::Scoring::kTopKSoftmax ? at::softmax(top, 1, at::kFloat)
                                                                         : at::sigmoid(top.to(at::kFloat));
    return {logits, weights, experts};
  }
  auto scores = options_.scoring == MoeOptions::Scoring::kSigmoid ? at::sigmoid(logits.to(at::kFloat))
                                                                   : at::softmax(logits, 1, at::kFloat);
  auto choice = correction_bias_ ? scores + correction_bias_->reshape({-1}) : scores;
  if (options_.num_groups > 1) {
    const int64_t N = choice.size(0), G = options_.num_groups;
    auto group_scores = std::get<0>(choice.view({N, G, -1}).topk(options_.group_score_experts, -1)).sum(-1);  // (N, G)
    auto kept = std::get<1>(group_scores.topk(options_.top_k_groups, -1));
    auto group_mask = at::zeros_like(group_scores).scatter(1, kept, 1.0).to(at::kBool);
    choice = choice.view({N, G, -1}).masked_fill(group_mask.unsqueeze(-1).logical_not(),
                                                 -std::numeric_limits<double>::infinity()).view({N, -1});
  }
  auto experts = std::get<1>(at::topk(choice, options_.top_k, -1));  // (N, k)
  auto weights = scores.gather(1, experts);
  if (options_.normalize_top_k) weights = weights / (weights.sum(-1, /*keepdim=*/true) + options_.normalize_eps);
  if (options_.routed_scaling != 1.0) weights = weights * options_.routed_scaling;
  return {logits, weights, experts};
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

at::Tensor dispatch_to_experts(const ExpertBank& bank, const at::Tensor& flat, const at::Tensor& weights,
                               const at::Tensor& experts, bool weights_on_input) {
  // Tokens grouped per expert by one stable sort of the (token, slot) assignments: one host sync
  // (the counts) instead of one per expert, and one scatter-add. Within each token the slots are
  // summed in expert order, as HF's per-expert index_add does.
  const int64_t k = experts.size(1), num_experts = bank.num_experts();
  auto assigned = experts.reshape({-1});                         // (N*k) expert per assignment
  auto order = assigned.argsort(/*stable=*/true);                // grouped by expert
  auto counts = at::bincount(assigned, {}, num_experts).cpu();  // (E)
  auto tokens = order.div(k, "floor");
  auto inputs = flat.index_select(0, tokens);
  const auto* count = counts.data_ptr<int64_t>();
  auto w = weights.reshape({-1}).index_select(0, order).unsqueeze(-1);
  if (weights_on_input) inputs = (inputs * w).to(flat.scalar_type());
  auto routed = bank.forward_groups(inputs, weights_on_input ? at::Tensor() : w,
                                    std::vector<int64_t>(count, count + num_experts));
  return at::zeros_like(flat).index_add(0, tokens, routed);
}

std::pair<at::Tensor, at::Tensor> SparseMoe::forward(const at::Tensor& x) const {
  auto shape = x.sizes().vec();
  auto flat = x.reshape({-1, shape.back()});                    // (N, H)
  auto [router_logits, weights, experts] = route(flat);  // (N, E), (N, k), (N, k)
  if (!options_.weights_in_fp32) weights = weights.to(x.scalar_type());
  auto out = dispatch_to_experts(*experts_, flat, weights, experts, options_.weights_on_input);
  if (shared_gate_) out = out + at::sigmoid(shared_gate_->forward(flat)) * shared_->forward(flat);
  else if (shared_) out = out + shared_->forward(flat);
  return {out.view(shape), router_logits};
}

}  // namespace automodel::models
