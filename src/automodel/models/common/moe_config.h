// Config readers shared by the MoE families whose config.json keys are common to several
// model_types (DeepSeek-V3's keys are also GLM-4.5's and dots.llm1's).
#pragma once

#include <optional>

#include "automodel/models/common/decoder_spec.h"

namespace automodel::models {

// HF's per-family defaults for the DeepSeek-V3-style keys.
struct DeepSeekMoeDefaults {
  int64_t num_groups = 1, top_k_groups = 1;
  bool norm_topk_prob = true;
  double routed_scaling_factor = 1.0;
  int64_t first_k_dense_replace = 1;
  std::optional<int64_t> shared_experts = 1;  // nullopt: the config must name n_shared_experts
  // DeepSeek-V2's router instead: softmax over the experts, no correction bias, no renormalisation
  // (its norm_topk_prob is unused), groups only with topk_method group_limited_greedy, scored by
  // their best expert.
  bool v2_routing = false;
};

// (DeepSeek-V3) Sigmoid router with e_score_correction_bias, group-limited top-k, ungated shared experts
// ("shared_experts", n_shared_experts x moe_intermediate_size), MoE on layers >=
// first_k_dense_replace: n_routed_experts (or num_local_experts), num_experts_per_tok, ...
void read_deepseek_moe(const hf::JsonFields& config, DecoderSpec& spec, const DeepSeekMoeDefaults& defaults);

// DeepSeek-V3/GLM-4.5 checkpoints append num_nextn_predict_layers multi-token-prediction layers
// after the decoder's (model.layers.{num_hidden_layers + i}.*): skipped when loading.
void skip_multi_token_prediction_layers(const hf::JsonFields& config, DecoderSpec& spec);

// Qwen-MoE: softmax router over num_experts (or num_local_experts), num_experts_per_tok,
// norm_topk_prob, moe_intermediate_size, router aux loss when output_router_logits; MoE on the
// layers not in mlp_only_layers whose index + 1 is a multiple of decoder_sparse_step.
void read_qwen_moe(const hf::JsonFields& config, DecoderSpec& spec, bool default_norm_topk_prob = false);

}  // namespace automodel::models
