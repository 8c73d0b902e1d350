#include "automodel/models/common/moe_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/hf/model_config.h"

namespace automodel::models {

void skip_multi_token_prediction_layers(const hf::JsonFields& c, DecoderSpec& spec) {
  auto count = c.check_int("num_nextn_predict_layers", c.get_int("num_nextn_predict_layers", 1), 0, hf::kMaxLayers);
  for (int64_t i = 0; i < count; ++i)
    spec.skipped_checkpoint_prefixes.push_back(fmt::format("model.layers.{}.", spec.num_layers + i));
}

void read_deepseek_moe(const hf::JsonFields& c, DecoderSpec& spec, const DeepSeekMoeDefaults& d) {
  MoeOptions moe;
  const char* experts_key = c.has("n_routed_experts") ? "n_routed_experts" : "num_local_experts";
  moe.num_experts = c.check_int(experts_key, c.get_int(experts_key), 1, hf::kMaxExperts);
  moe.top_k = c.check_int("num_experts_per_tok", c.get_int("num_experts_per_tok"), 1, moe.num_experts);
  moe.expert_intermediate = c.check_int("moe_intermediate_size", c.get_int("moe_intermediate_size"), 1, hf::kMaxWidth);
  moe.expert.names = MlpNames{};
  moe.expert.act = spec.mlp.act;
  moe.router_in_fp32 = true;
  bool grouped = true;
  if (d.v2_routing) {
    moe.scoring = MoeOptions::Scoring::kSoftmax;
    moe.normalize_top_k = false;
    moe.group_score_experts = 1;
    const auto method = c.get_string("topk_method", "greedy");
    AM_CHECK(method == "greedy" || method == "group_limited_greedy",
             "[config] {}: expected greedy or group_limited_greedy, found '{}'", c.where("topk_method"), method);
    grouped = method == "group_limited_greedy";
  } else {
    moe.scoring = MoeOptions::Scoring::kSigmoid;
    moe.correction_bias_name = moe.router_name + ".e_score_correction_bias";
    moe.correction_bias_shape = {moe.num_experts};
    moe.normalize_top_k = c.get_bool("norm_topk_prob", d.norm_topk_prob);
    moe.normalize_eps = 1e-20;
  }
  if (grouped) {
    moe.num_groups = c.check_int("n_group", c.get_int("n_group", d.num_groups), 1, moe.num_experts);
    c.check_divisible("n_routed_experts", moe.num_experts, "n_group", moe.num_groups);
    moe.top_k_groups = c.check_int("topk_group", c.get_int("topk_group", d.top_k_groups), 1, moe.num_groups);
  }
  moe.routed_scaling = c.check_positive("routed_scaling_factor", c.get_double("routed_scaling_factor", d.routed_scaling_factor));
  moe.weights_in_fp32 = true;
  auto shared = c.has("n_shared_experts") || !d.shared_experts
                    ? c.check_int("n_shared_experts", c.get_int("n_shared_experts"), 0, hf::kMaxExperts)
                    : *d.shared_experts;
  moe.shared_expert_intermediate = shared * moe.expert_intermediate;
  moe.shared_expert_name = "shared_experts";
  moe.shared_expert_gate_name = "";
  spec.moe = moe;
  auto first_dense = c.check_int("first_k_dense_replace", c.get_int("first_k_dense_replace", d.first_k_dense_replace), 0,
                                 hf::kMaxLayers);
  spec.moe_layers.assign(static_cast<size_t>(spec.num_layers), false);
  for (int64_t i = first_dense; i < spec.num_layers; ++i) spec.moe_layers[static_cast<size_t>(i)] = true;
}

void read_qwen_moe(const hf::JsonFields& c, DecoderSpec& spec, bool default_norm_topk_prob) {
  MoeOptions moe;
  // num_local_experts is transformers' canonical name (v5 writes it); num_experts the original.
  const char* experts_key = c.has("num_local_experts") ? "num_local_experts" : "num_experts";
  moe.num_experts = c.check_int(experts_key, c.get_int(experts_key), 1, hf::kMaxExperts);
  moe.top_k = c.check_int("num_experts_per_tok", c.get_int("num_experts_per_tok"), 1, moe.num_experts);
  moe.normalize_top_k = c.get_bool("norm_topk_prob", default_norm_topk_prob);
  moe.expert_intermediate = c.check_int("moe_intermediate_size", c.get_int("moe_intermediate_size"), 1, hf::kMaxWidth);
  moe.expert.names = MlpNames{};
  moe.expert.act = spec.mlp.act;
  if (c.get_bool("output_router_logits", false))
    moe.aux_loss_coef = c.check_finite("router_aux_loss_coef", c.get_double("router_aux_loss_coef", 0.001));
  spec.moe = moe;
  // MoE on layer i unless listed in mlp_only_layers, and only every decoder_sparse_step-th layer.
  auto step = c.check_int("decoder_sparse_step", c.get_int("decoder_sparse_step", 1), 1, hf::kMaxLayers);
  std::vector<int64_t> dense_only;
  if (c.has("mlp_only_layers")) {
    const auto& list = c.raw("mlp_only_layers");
    AM_CHECK(list.is_array(), "[config] {}: expected a list of layer indices, found {}", c.where("mlp_only_layers"),
             list.dump());
    for (const auto& v : list) {
      AM_CHECK(v.is_number_integer(), "[config] {}: expected layer indices, found {}", c.where("mlp_only_layers"),
               v.dump());
      dense_only.push_back(v.get<int64_t>());
    }
  }
  spec.moe_layers.assign(static_cast<size_t>(spec.num_layers), false);
  for (int64_t i = 0; i < spec.num_layers; ++i)
    spec.moe_layers[static_cast<size_t>(i)] =
        std::find(dense_only.begin(), dense_only.end(), i) == dense_only.end() && (i + 1) % step == 0;
}

}  // namespace automodel::models
