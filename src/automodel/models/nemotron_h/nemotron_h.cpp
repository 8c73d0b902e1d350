// Nemotron-H (Nemotron-H 8B/47B, Nemotron Nano 9B v2, Nemotron 3 Nano/Super): one mixer per
// layer behind one RMSNorm (weight applied in fp32), chosen by `layers_block_type` (or the legacy
// `hybrid_override_pattern`, "M" Mamba2, "*" attention, "-" MLP, "E" MoE): Mamba2 mixers,
// attention without positions (the Mamba2 layers order the tokens), squared-ReLU MLPs, and a
// DeepSeek-V3-style sigmoid router over non-gated squared-ReLU experts with a shared expert.
// Checkpoints load in either layout they ship in (the hub's backbone.* with a tensor per expert,
// transformers 5's model.* with stacked experts) and are written back in it.
#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/mamba2.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

// The per-layer mixers: `layers_block_type` (v5; legacy "mamba"/"attention" accepted) or the
// pattern string checkpoints on the hub carry.
std::vector<std::string> read_block_types(const hf::JsonFields& c) {
  const std::map<char, std::string> pattern{{'M', "linear_attention"}, {'*', "full_attention"}, {'-', "mlp"}, {'E', "moe"}};
  std::vector<std::string> types;
  if (c.has("layers_block_type")) {
    for (const auto& name : c.get_string_list("layers_block_type")) {
      const auto type = current_layer_type(name);
      AM_CHECK(type == "linear_attention" || type == "full_attention" || type == "mlp" || type == "moe",
               "[config] {}: '{}' is not a block type (expected linear_attention, full_attention, mlp or moe)",
               c.where("layers_block_type"), type);
      types.push_back(type);
    }
  } else {
    AM_CHECK(c.has("hybrid_override_pattern"), "[config] {}: expected layers_block_type or hybrid_override_pattern",
             c.where("layers_block_type"));
    for (char ch : c.get_string("hybrid_override_pattern")) {
      auto it = pattern.find(ch);
      AM_CHECK(it != pattern.end(), "[config] {}: '{}' is not a block (expected M, *, - or E)",
               c.where("hybrid_override_pattern"), std::string(1, ch));
      types.push_back(it->second);
    }
  }
  AM_CHECK(!types.empty() && static_cast<int64_t>(types.size()) <= hf::kMaxLayers,
           "[config] {}: expected 1 to {} layers, found {}", c.where("layers_block_type"), hf::kMaxLayers, types.size());
  return types;
}

Mamba2Shape read_mamba2(const hf::JsonFields& c) {
  // v5 names, or the hub's older ones (mamba_n_groups, mamba_d_conv, ...), which win when both are
  // present, as in transformers' NemotronHConfig.
  auto named = [&c](const char* key, const char* legacy) { return c.has(legacy) ? legacy : key; };
  auto get = [&c, &named](const char* key, const char* legacy, int64_t fallback, int64_t max) {
    const char* name = named(key, legacy);
    return c.check_int(name, c.get_int(name, fallback), 1, max);
  };
  Mamba2Shape s;
  s.num_heads = get("mamba_num_heads", "mamba_num_heads", 128, hf::kMaxHeads);
  s.head_dim = get("mamba_head_dim", "mamba_head_dim", 64, hf::kMaxWidth);
  s.state_size = get("ssm_state_size", "ssm_state_size", 128, hf::kMaxWidth);
  s.num_groups = get("n_groups", "mamba_n_groups", 8, s.num_heads);
  c.check_divisible("mamba_num_heads", s.num_heads, "n_groups", s.num_groups);
  s.norm_groups = s.num_groups;
  s.conv_kernel = get("conv_kernel", "mamba_d_conv", 4, 1024);
  s.chunk_size = get("chunk_size", "mamba_chunk_size", 128, 1 << 16);
  const char* dt_min = named("time_step_min", "mamba_dt_min");
  s.dt_min = c.check_finite(dt_min, c.get_double(dt_min, 0.001));  // HF's mixer clamps dt to [time_step_min, inf)
  AM_CHECK(s.dt_min >= 0, "[config] {}: expected >= 0, found {}", c.where(dt_min), s.dt_min);
  s.conv_bias = c.get_bool(named("use_conv_bias", "mamba_conv_bias"), true);
  s.in_bias = s.out_bias = c.get_bool("use_bias", false);
  s.norm_eps = c.check_positive("layer_norm_epsilon", c.get_double("layer_norm_epsilon", 1e-5));
  const auto act = c.get_string("mamba_hidden_act", "silu");
  AM_CHECK(act == "silu", "[config] {}: only silu is supported for Mamba2 mixers, found '{}'", c.where("mamba_hidden_act"),
           act);
  return s;
}

}  // namespace

Architecture nemotron_h_architecture() {
  Architecture arch;
  arch.model_type = "nemotron_h";
  arch.hf_class = "NemotronHForCausalLM";
  arch.features = "one mixer per layer (Mamba2, attention without positions, squared-ReLU MLP or MoE) behind an fp32-"
                  "scaled RMSNorm, sigmoid-routed non-gated experts with a shared expert";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto fields = config.fields();
    const auto types = read_block_types(fields);
    auto json = std::make_shared<nlohmann::json>(*config.json);  // the layer count is the block list's
    (*json)["num_hidden_layers"] = types.size();
    hf::JsonFields c(json, config.label);
    ConfigDefaults defaults;
    defaults.head_dim = 128;
    defaults.eps_key = "layer_norm_epsilon";
    defaults.norm_eps = 1e-5;
    defaults.act_key = "mlp_hidden_act";
    defaults.act = "relu2";
    defaults.pad_token_id = 0;
    auto spec = read_decoder_spec(c, defaults);
    reject_unsupported(c, {"moe_latent_size"});
    spec.qkv_bias = spec.o_bias = false;  // HF builds the attention without biases whatever attention_bias says
    spec.norm.scale_in_fp32 = true;
    spec.nope_layers.assign(types.size(), true);
    spec.mlp = {MlpSpec::Kind::kPlain, MlpNames{"", "up_proj", "down_proj", ""}, spec.mlp.act, spec.mlp.bias};
    auto& n = spec.names;
    // Checkpoints on the hub (NVIDIA's own code) name the body "backbone"; transformers 5 renames it
    // on load and saves "model". Either is read and written back as it came.
    if (config.checkpoint_has([](const std::string& t) { return t.starts_with("backbone."); })) n.body = "backbone";
    n.embed = "embeddings", n.final_norm = "norm_f", n.attention = "mixer", n.mlp = "mixer";
    n.attn_in_norm = "norm", n.mlp_in_norm = "norm", n.attn_out_norm = n.mlp_out_norm = "";
    for (const auto& type : types) {
      const bool mixer = type == "linear_attention" || type == "full_attention";
      spec.attention_layers.push_back(mixer);
      spec.feed_forward_layers.push_back(!mixer);
      spec.moe_layers.push_back(type == "moe");
    }
    if (std::find(types.begin(), types.end(), "moe") != types.end()) {
      MoeOptions moe;
      moe.num_experts = c.check_int("n_routed_experts", c.get_int("n_routed_experts", 8), 1, hf::kMaxExperts);
      moe.top_k = c.check_int("num_experts_per_tok", c.get_int("num_experts_per_tok", 2), 1, moe.num_experts);
      moe.expert_intermediate =
          c.check_int("moe_intermediate_size", c.get_int("moe_intermediate_size", 7688), 1, hf::kMaxWidth);
      moe.expert = spec.mlp;
      moe.scoring = MoeOptions::Scoring::kSigmoid;
      moe.router_in_fp32 = true;
      moe.correction_bias_name = "gate.e_score_correction_bias";
      moe.correction_bias_shape = {moe.num_experts};
      moe.num_groups = c.check_int("n_group", c.get_int("n_group", 1), 1, moe.num_experts);
      c.check_divisible("n_routed_experts", moe.num_experts, "n_group", moe.num_groups);
      moe.top_k_groups = c.check_int("topk_group", c.get_int("topk_group", 1), 1, moe.num_groups);
      moe.normalize_top_k = c.get_bool("norm_topk_prob", true);
      moe.normalize_eps = 1e-20;
      moe.routed_scaling = c.check_positive("routed_scaling_factor", c.get_double("routed_scaling_factor", 1.0));
      moe.weights_in_fp32 = true;
      moe.shared_expert_intermediate = c.check_int(
          "moe_shared_expert_intermediate_size", c.get_int("moe_shared_expert_intermediate_size", 7688), 1, hf::kMaxWidth);
      moe.shared_expert_name = "shared_experts";
      moe.shared_expert_gate_name = "";
      // The hub's checkpoints hold one up_proj/down_proj per expert (the default expert list);
      // transformers 5 saves them stacked.
      const bool per_expert =
          config.checkpoint_has([](const std::string& t) { return t.ends_with(".experts.0.up_proj.weight"); });
      if (!per_expert)
        moe.make_experts = [](int64_t hidden, const MoeOptions& m,
                              const at::TensorOptions& o) -> std::unique_ptr<ExpertBank> {
          return std::make_unique<StackedExperts>(m.num_experts, hidden, m.expert_intermediate, /*gated=*/false,
                                                  m.expert.act, o);
        };
      spec.moe = moe;
    }
    const auto mamba = read_mamba2(c);
    spec.make_attention = [types, mamba](const DecoderSpec& s, int64_t layer,
                                         const at::TensorOptions& o) -> std::unique_ptr<AttentionLayer> {
      if (types[static_cast<size_t>(layer)] != "linear_attention") return nullptr;  // the standard attention
      return std::make_unique<Mamba2Mixer>(s.hidden_size, mamba, o);
    };
    if (c.get_int("num_nextn_predict_layers", 0) > 0) spec.skipped_checkpoint_prefixes.push_back("mtp.");
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "nemotron_h", "vocab_size": 96, "hidden_size": 32,
    "layers_block_type": ["linear_attention", "moe", "full_attention", "mlp", "linear_attention"],
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "intermediate_size": 48,
    "mamba_num_heads": 4, "mamba_head_dim": 8, "n_groups": 2, "ssm_state_size": 8, "conv_kernel": 4, "chunk_size": 4,
    "n_routed_experts": 4, "num_experts_per_tok": 4, "moe_intermediate_size": 16,
    "moe_shared_expert_intermediate_size": 24, "n_group": 2, "topk_group": 2, "routed_scaling_factor": 2.5,
    "layer_norm_epsilon": 1e-5})";
  return arch;
}

}  // namespace automodel::models
