// Top-k routed mixture of experts (Mixtral style): softmax router over all experts, top-k,
// optional renormalisation, gated-MLP experts; returns the router logits for losses and parity.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>

#include "automodel/models/common/layers.h"
#include "automodel/models/common/module.h"

namespace automodel::models {

// act(gate(x)) * up(x) -> down; parameter names are configurable (gate_proj/up_proj/down_proj
// for dense MLPs, w1/w3/w2 for Mixtral experts).
struct GatedMlpNames {
  std::string gate = "gate_proj", up = "up_proj", down = "down_proj";
};

class GatedMlp : public Module {
 public:
  GatedMlp(int64_t hidden, int64_t intermediate, bool bias, Activation act, const GatedMlpNames& names,
           const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;  // (..., hidden) -> (..., hidden)

 private:
  Activation act_;
  Slot<LinearLayer> gate_, up_, down_;
};

struct MoeOptions {
  int64_t num_experts = 0;
  int64_t top_k = 2;
  bool normalize_top_k = true;
  int64_t expert_intermediate = 0;
  GatedMlpNames expert_names{"w1", "w3", "w2"};
  double aux_loss_coef = 0;  // > 0: HF adds coef x load-balancing loss to the LM loss
};

// HF's load_balancing_loss_func over all layers' router logits:
// num_experts * sum_e(fraction of top-k slots routed to e * mean router probability of e).
// `real_tokens` (N bool, optional): only those rows count, as HF does when given an attention mask.
at::Tensor load_balancing_loss(const std::vector<at::Tensor>& router_logits, int64_t num_experts, int64_t top_k,
                               const at::Tensor& real_tokens = {});

class SparseMoe : public Module {
 public:
  SparseMoe(int64_t hidden, const MoeOptions& options, Activation act, const at::TensorOptions& tensor_options);
  // x: (B, T, H) -> output (B, T, H), router logits (B*T, E)
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x) const;

 private:
  MoeOptions options_;
  Slot<LinearLayer> gate_;
  Slot<ModuleList<GatedMlp>> experts_;
};

}  // namespace automodel::models
