// Granite 4 hybrids (granite-4.0-h-*): Granite's multipliers on a pre-norm decoder whose layers
// hold either a Mamba2 mixer or attention (without positions unless position_embedding_type is
// "rope"), then a MoE (top-k of the router logits, softmax over those k, stacked gated experts)
// with a dense gated MLP beside it ("shared_mlp"), or that MLP alone when num_local_experts is 0.
// The hub's checkpoints name the experts block_sparse_moe.input_linear/output_linear and the
// router router.layer; transformers 5's, experts.gate_up_proj/down_proj and router: either is read
// and written back as it came.
#include <string>
#include <vector>

#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/mamba2.h"
#include "automodel/models/granite/granite_family.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

std::vector<std::string> read_mixers(const hf::JsonFields& c, int64_t num_layers) {
  std::vector<std::string> types(static_cast<size_t>(num_layers), "linear_attention");  // HF's default: all Mamba2
  const char* key = c.has("layer_types") || !c.has("layers_block_type") ? "layer_types" : "layers_block_type";
  if (!c.has(key)) return types;
  types = c.get_string_list(key);
  AM_CHECK(static_cast<int64_t>(types.size()) == num_layers, "[config] {}: expected {} entries (num_hidden_layers), found {}",
           c.where(key), num_layers, types.size());
  for (auto& type : types) {
    type = current_layer_type(type);
    AM_CHECK(type == "linear_attention" || type == "full_attention",
             "[config] {}: '{}' is not a layer type (expected mamba or attention)", c.where(key), type);
  }
  return types;
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
    read_granite_multipliers(c, spec);
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
      const bool hub =
          config.checkpoint_has([](const std::string& t) { return t.ends_with("block_sparse_moe.input_linear.weight"); });
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
    const auto expand = c.check_int("mamba_expand", c.get_int("mamba_expand", 2), 1, 64);
    const auto mamba = read_mamba_keys(c, expand * spec.hidden_size, 1e-6);
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
