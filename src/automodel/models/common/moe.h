// Top-k routed mixture of experts (Mixtral, Qwen-MoE): softmax router over all experts, top-k,
// optional renormalisation, gated-MLP experts, an optional gated shared expert; returns the router logits for losses and parity.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <utility>

#include "automodel/models/common/layers.h"
#include "automodel/models/common/mlp.h"
#include "automodel/models/common/module.h"

namespace automodel::models {

// The routed experts of one MoE layer: expert e applied to the tokens routed to it.
class ExpertBank : public Module {
 public:
  virtual at::Tensor forward(int64_t expert, const at::Tensor& x) const = 0;  // (n, H) -> (n, H)
  // Expert e applied to its counts[e] consecutive rows of `grouped`, for every e, each output row
  // times `scale`'s (when defined; the product in the promoted dtype, the result in grouped's): by
  // default one expert after another; banks of dense experts run as one grouped operation.
  virtual at::Tensor forward_groups(const at::Tensor& grouped, const at::Tensor& scale,
                                    const std::vector<int64_t>& counts) const;
  virtual int64_t num_experts() const = 0;
};

// flat (N, H) tokens through their experts (N, k) with weights (N, k): the weighted sum of each
// token's experts' outputs (or, weights_on_input, of its experts' outputs on weight x token).
// Weights in fp32 stay so until each product (HF's DeepSeek/Gemma 4 order).
at::Tensor dispatch_to_experts(const ExpertBank& bank, const at::Tensor& flat, const at::Tensor& weights,
                               const at::Tensor& experts, bool weights_on_input = false);

// One Mlp module per expert, named "0", "1", ... (checkpoints' experts.{e}.gate_proj.weight).
class ExpertList : public ExpertBank {
 public:
  void append(std::unique_ptr<Mlp> expert) { add_module(std::to_string(num_children()), std::move(expert)); }
  at::Tensor forward(int64_t expert, const at::Tensor& x) const override {
    return static_cast<const Mlp*>(child_at(static_cast<size_t>(expert)))->forward(x);
  }
  at::Tensor forward_groups(const at::Tensor& grouped, const at::Tensor& scale,
                            const std::vector<int64_t>& counts) const override;
  int64_t num_experts() const override { return static_cast<int64_t>(num_children()); }
};

// Experts stacked as transformers 5 stores them: gated, gate_up_proj (E, 2I, H) with the gate's
// rows first (Gemma 4, Granite 4); plain, up_proj (E, I, H) (Nemotron-H); then down_proj (E, H, I).
// `names` (in, down) replace those names (Granite's hub checkpoints: input_linear.weight,
// output_linear.weight).
class StackedExperts : public ExpertBank {
 public:
  StackedExperts(int64_t num_experts, int64_t hidden, int64_t width, bool gated, Activation act,
                 const at::TensorOptions& options, const std::pair<std::string, std::string>& names = {});
  int64_t num_experts() const override { return in_->size(0); }
  at::Tensor forward(int64_t expert, const at::Tensor& x) const override;
  at::Tensor forward_groups(const at::Tensor& grouped, const at::Tensor& scale,
                            const std::vector<int64_t>& counts) const override;

 private:
  bool gated_;
  Activation act_;
  at::Tensor *in_, *down_;
};

struct MoeOptions;
// Builds an architecture's own experts (gpt-oss's fused tensors); empty: an ExpertList.
using ExpertsFactory = std::function<std::unique_ptr<ExpertBank>(int64_t hidden, const MoeOptions&, const at::TensorOptions&)>;

struct MoeOptions {
  int64_t num_experts = 0;
  int64_t top_k = 2;
  bool normalize_top_k = true;
  int64_t expert_intermediate = 0;
  MlpSpec expert{MlpSpec::Kind::kGated, MlpNames{"w1", "w3", "w2", ""}};  // activation set by the model
  std::string router_name = "gate";
  // Router scores: softmax over all experts (Mixtral, Qwen), per-expert sigmoid (DeepSeek-V3), or
  // top-k of the logits then a softmax over those k (gpt-oss) or a sigmoid of each (Llama 4).
  enum class Scoring { kSoftmax, kSigmoid, kTopKSoftmax, kTopKSigmoid } scoring = Scoring::kSoftmax;
  bool weights_on_input = false;  // Llama 4: an expert sees its weight x the token, its output is not weighted
  bool router_bias = false;
  bool router_in_fp32 = false;  // logits = x.float() @ W.float()^T (DeepSeek-V3, GLM-4.5, ERNIE)
  // A per-expert bias added to the scores for choosing experts only (weights stay unbiased), kept
  // as a buffer under this name (relative to the MoE module) with this shape; empty = none.
  std::string correction_bias_name;
  std::vector<int64_t> correction_bias_shape;
  // Group-limited choice: experts in num_groups groups, only the top_k_groups groups (by the sum of
  // each group's two best scores) are eligible.
  int64_t num_groups = 1, top_k_groups = 1;
  int64_t group_score_experts = 2;  // a group's score: the sum of its best n (DeepSeek-V3: 2; V2: 1, its max)
  double normalize_eps = 0;   // added to the sum when renormalising (DeepSeek: 1e-20)
  double routed_scaling = 1.0;  // the routed experts' weights x this (DeepSeek's routed_scaling_factor)
  bool weights_in_fp32 = false;  // routed weights stay fp32 (DeepSeek), else cast to the model dtype
  // An always-on shared expert (0 = none); Qwen2-MoE scales it by sigmoid(shared_expert_gate(x)).
  int64_t shared_expert_intermediate = 0;
  // The experts' module name; "" registers their tensors in the MoE module itself (Granite's hub
  // checkpoints: block_sparse_moe.input_linear.weight).
  std::string experts_name = "experts";
  std::string shared_expert_name = "shared_expert", shared_expert_gate_name = "shared_expert_gate";  // gate "": ungated
  double aux_loss_coef = 0;  // > 0: HF adds coef x load-balancing loss to the LM loss
  ExpertsFactory make_experts;
};

// HF's load_balancing_loss_func over all layers' router logits:
// num_experts * sum_e(fraction of top-k slots routed to e * mean router probability of e).
// `real_tokens` (N bool, optional): only those rows count, as HF does when given an attention mask.
at::Tensor load_balancing_loss(const std::vector<at::Tensor>& router_logits, int64_t num_experts, int64_t top_k,
                               const at::Tensor& real_tokens = {});

class SparseMoe : public Module {
 public:
  SparseMoe(int64_t hidden, const MoeOptions& options, const at::TensorOptions& tensor_options);
  // x: (B, T, H) -> output (B, T, H), router logits (B*T, E)
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x) const;

 private:
  struct Routing {
    at::Tensor logits, weights, experts;  // (N, E) router logits, (N, k) expert weights and indices
  };
  Routing route(const at::Tensor& flat) const;  // flat: (N, H)
  MoeOptions options_;
  Slot<LinearLayer> gate_, shared_gate_;
  Slot<ExpertBank> experts_;
  Slot<Mlp> shared_;
  at::Tensor* correction_bias_ = nullptr;
};

}  // namespace automodel::models
