// Granite 4 hybrids (granite-4.0-h-*): Granite's multipliers on a pre-norm decoder whose layers
// hold either a Mamba2 mixer or attention (without positions unless position_embedding_type is
// "rope"), then a MoE (top-k of the router logits, softmax over those k, stacked gated experts)
// with a dense gated MLP beside it ("shared_mlp"), or that MLP alone when num_local_experts is 0.
// The hub's checkpoints name the experts block_sparse_moe.input_linear/output_linear and the
// router router.layer; transformers 5's, experts.gate_up_proj/down_proj and router: either is read
// and written back as it came.
#include <algorithm>
#include <cmath>
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

std::vector<std::string> read_mixers(const hf::JsonFields& c, int64_t num_layers) {
  const std::map<std::string, std::string> legacy{{"mamba", "linear_attention"}, {"attention", "full_attention"}};
  std::vector<std::string> types(static_cast<size_t>(num_layers), "linear_attention");  // HF's default: all Mamba2
  const char* key = c.has("layer_types") || !c.has("layers_block_type") ? "layer_types" : "layers_block_type";
  if (!c.has(key)) return types;
  types = c.get_string_list(key);
  AM_CHECK(static_cast<int64_t>(types.size()) == num_layers, "[config] {}: expected {} entries (num_hidden_layers), found {}",
           c.where(key), num_layers, types.size());
  for (auto& type : types) {
    if (auto it = legacy.find(type); it != legacy.end()) type = it->second;
    AM_CHECK(type == "linear_attention" || type == "full_attention",
             "[config] {}: '{}' is not a layer type (expected mamba or attention)", c.where(key), type);
  }
  return types;
}

Mamba2Shape read_mamba2(const hf::JsonFields& c, int64_t hidden) {
  Mamba2Shape s;
  s.num_heads = c.check_int("mamba_n_heads", c.get_int("mamba_n_heads", 128), 1, hf::kMaxHeads);
  const auto expand = c.check_int("mamba_expand", c.get_int("mamba_expand", 2), 1, 64);
  const auto inner = expand * hidden;
  const char* head = "mamba_d_head";  // "auto": the expanded width over the heads
  const bool automatic = !c.has(head) || (c.raw(head).is_string() && c.get_string(head) == "auto");
  s.head_dim = automatic ? inner / s.num_heads : c.check_int(head, c.get_int(head), 1, hf::kMaxWidth);
  AM_CHECK(s.num_heads * s.head_dim == inner, "[config] {}: mamba_n_heads x mamba_d_head must be mamba_expand x "
           "hidden_size ({}), found {} x {}", c.where(head), inner, s.num_heads, s.head_dim);
  s.num_groups = c.check_int("mamba_n_groups", c.get_int("mamba_n_groups", 1), 1, s.num_heads);
  c.check_divisible("mamba_n_heads", s.num_heads, "mamba_n_groups", s.num_groups);
  s.state_size = c.check_int("mamba_d_state", c.get_int("mamba_d_state", 256), 1, hf::kMaxWidth);
  s.conv_kernel = c.check_int("mamba_d_conv", c.get_int("mamba_d_conv", 4), 1, 1024);
  s.chunk_size = c.check_int("mamba_chunk_size", c.get_int("mamba_chunk_size", 256), 1, 1 << 16);
  s.conv_bias = c.get_bool("mamba_conv_bias", true);
  s.in_bias = s.out_bias = c.get_bool("mamba_proj_bias", false);
  if (c.has("time_step_limit")) {
    auto limit = c.get_double_list("time_step_limit");
    AM_CHECK(limit.size() == 2 && std::isfinite(limit[0]) && limit[0] >= 0 && limit[0] <= limit[1],
             "[config] {}: expected [min, max] with 0 <= min <= max", c.where("time_step_limit"));
    s.dt_min = limit[0], s.dt_max = limit[1];
  }
  s.norm_eps = c.check_positive("rms_norm_eps", c.get_double("rms_norm_eps", 1e-6));
  const auto act = c.get_string("hidden_act", "silu");
  AM_CHECK(act == "silu", "[config] {}: only silu is supported for Mamba2 mixers, found '{}'", c.where("hidden_act"), act);
  return s;
}

bool checkpoint_has(const hf::ModelConfig& config, const std::string& suffix) {
  return config.checkpoint_names && std::any_of(config.checkpoint_names->begin(), config.checkpoint_names->end(),
                                                 [&suffix](const std::string& t) { return t.ends_with(suffix); });
}

}  // namespace

Architecture granitemoehybrid_architecture() {
  Architecture arch;
  arch.model_type = "granitemoehybrid";
  arch.hf_class = "GraniteMoeHybridForCausalLM";
  arch.features = "Mamba2 or attention (no positions, or rope) per layer, then a top-k-softmax MoE of stacked gated "
                  "experts beside a dense shared MLP (or the MLP alone); Granite's multipliers";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    auto spec = read_decoder_spec(c);
    spec.embedding_scale = c.check_positive("embedding_multiplier", c.get_double("embedding_multiplier", 1.0));
    spec.residual_scale = c.check_positive("residual_multiplier", c.get_double("residual_multiplier", 1.0));
    spec.attention_scale = c.check_positive("attention_multiplier", c.get_double("attention_multiplier", 1.0));
    spec.logit_scale = 1.0 / c.check_positive("logits_scaling", c.get_double("logits_scaling", 1.0));
    const auto position = c.get_string("position_embedding_type", "nope");
    AM_CHECK(position == "rope" || position == "nope", "[config] {}: expected rope or nope (or null), found '{}'",
             c.where("position_embedding_type"), position);
    if (position != "rope") spec.nope_layers.assign(static_cast<size_t>(spec.num_layers), true);
    const auto mixers = read_mixers(c, spec.num_layers);
    spec.attention_names.clear();
    for (const auto& type : mixers) spec.attention_names.push_back(type == "linear_attention" ? "mamba" : "self_attn");
    spec.names.feed_forward_first = true;  // HF registers block_sparse_moe and shared_mlp before the mixer
    // The dense MLP: shared_mlp's fused [gate | up] input_linear and its output_linear.
    spec.intermediate_size =
        c.check_int("shared_intermediate_size", c.get_int("shared_intermediate_size", 1024), 1, hf::kMaxWidth);
    spec.mlp.names = MlpNames{"", "", "output_linear", "input_linear"};
    const auto experts = c.check_int("num_local_experts", c.get_int("num_local_experts", 8), 0, hf::kMaxExperts);
    if (experts == 0) {
      spec.names.mlp = "shared_mlp";
    } else {
      MoeOptions moe;
      moe.num_experts = experts;
      moe.top_k = c.check_int("num_experts_per_tok", c.get_int("num_experts_per_tok", 2), 1, experts);
      moe.expert_intermediate = c.check_int("intermediate_size", c.get_int("intermediate_size"), 1, hf::kMaxWidth);
      moe.expert.act = spec.mlp.act;
      moe.scoring = MoeOptions::Scoring::kTopKSoftmax;
      if (c.get_bool("output_router_logits", false))
        moe.aux_loss_coef = c.get_double("router_aux_loss_coef", 0.001);
      // The hub's names (block_sparse_moe.input_linear.weight, router.layer.weight), else transformers 5's.
      const bool hub = checkpoint_has(config, "block_sparse_moe.input_linear.weight");
      moe.router_name = hub ? "router.layer" : "router";
      moe.experts_name = hub ? "" : "experts";
      const auto names = hub ? std::pair<std::string, std::string>{"input_linear.weight", "output_linear.weight"}
                             : std::pair<std::string, std::string>{};
      moe.make_experts = [names](int64_t hidden, const MoeOptions& m,
                                 const at::TensorOptions& o) -> std::unique_ptr<ExpertBank> {
        return std::make_unique<StackedExperts>(m.num_experts, hidden, m.expert_intermediate, /*gated=*/true,
                                                m.expert.act, o, names);
      };
      spec.names.mlp = "block_sparse_moe";
      spec.moe = moe;
      spec.moe_dense_mlp = "shared_mlp";
    }
    const auto mamba = read_mamba2(c, spec.hidden_size);
    spec.make_attention = [mixers, mamba](const DecoderSpec& s, int64_t layer,
                                          const at::TensorOptions& o) -> std::unique_ptr<AttentionLayer> {
      if (mixers[static_cast<size_t>(layer)] != "linear_attention") return nullptr;  // the standard attention
      return std::make_unique<Mamba2Mixer>(s.hidden_size, mamba, o);
    };
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "granitemoehybrid", "vocab_size": 96, "hidden_size": 32,
    "intermediate_size": 16, "shared_intermediate_size": 48, "num_hidden_layers": 3, "num_attention_heads": 4,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "max_position_embeddings": 64,
    "layer_types": ["mamba", "attention", "mamba"], "position_embedding_type": "nope",
    "mamba_n_heads": 4, "mamba_n_groups": 2, "mamba_d_state": 8, "mamba_expand": 2,
    "mamba_d_conv": 4, "mamba_chunk_size": 4, "num_local_experts": 4, "num_experts_per_tok": 4,
    "embedding_multiplier": 12.0, "residual_multiplier": 0.22, "attention_multiplier": 0.0078125,
    "logits_scaling": 8.0, "tie_word_embeddings": true})";
  return arch;
}

}  // namespace automodel::models
