// Llama 4 (text; Scout and Maverick's language model): rope layers use chunked attention, an
// unweighted RMS q/k norm after their interleaved-pair rope; every no_rope_layer_interval-th layer
// is NoPE with full attention and a position-dependent query temperature. MoE layers (every
// interleave_moe_layer_step-th) route each token to its top-1 expert by a sigmoid that scales the
// expert's *input*, plus an always-on shared expert; experts are stored stacked. Dense layers use
// intermediate_size_mlp. The module is "feed_forward", its router "router".
#include <ATen/TensorOperators.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/matmul.h>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

// gate_up_proj (E, H, 2I): x @ W gives [gate | up]; down_proj (E, I, H).
class Llama4Experts : public ExpertBank {
 public:
  Llama4Experts(int64_t num_experts, int64_t hidden, int64_t intermediate, Activation act, const at::TensorOptions& o)
      : act_(act) {
    gate_up_ = add_parameter("gate_up_proj", at::empty({num_experts, hidden, 2 * intermediate}, o));
    down_ = add_parameter("down_proj", at::empty({num_experts, intermediate, hidden}, o));
  }
  int64_t num_experts() const override { return gate_up_->size(0); }
  at::Tensor forward(int64_t e, const at::Tensor& x) const override {
    auto gate_up = x.matmul((*gate_up_)[e]).chunk(2, -1);
    return (activate(act_, gate_up[0]) * gate_up[1]).matmul((*down_)[e]);
  }

 private:
  Activation act_;
  at::Tensor *gate_up_, *down_;
};

}  // namespace

Architecture llama4_text_architecture() {
  Architecture arch;
  arch.model_type = "llama4_text";
  arch.hf_class = "Llama4ForCausalLM";
  arch.features = "chunked attention on rope layers, NoPE layers with query temperature, unweighted q/k RMS norm, "
                  "interleaved rope, top-1 sigmoid MoE scaling the expert input + shared expert (stacked experts)";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.rope_theta = 500000.0;
    defaults.norm_eps = 1e-5;
    defaults.head_dim = 128;
    auto spec = read_decoder_spec(c, defaults);
    spec.rope_interleaved = true;
    spec.names.mlp = "feed_forward";
    spec.intermediate_size =
        c.check_int("intermediate_size_mlp", c.get_int("intermediate_size_mlp", 16384), 1, hf::kMaxWidth);
    // no_rope_layers: 1 = rope, 0 = NoPE; empty or absent: every no_rope_layer_interval-th layer NoPE.
    const auto L = spec.num_layers;
    std::vector<bool> rope(static_cast<size_t>(L));
    if (c.has("no_rope_layers") && !c.raw("no_rope_layers").empty()) {
      rope = read_layer_flags(c, "no_rope_layers", L);
    } else {
      auto interval = c.check_int("no_rope_layer_interval", c.get_int("no_rope_layer_interval", 4), 1, hf::kMaxLayers);
      for (int64_t i = 0; i < L; ++i) rope[static_cast<size_t>(i)] = (i + 1) % interval != 0;
    }
    spec.nope_layers.resize(rope.size());
    for (size_t i = 0; i < rope.size(); ++i) spec.nope_layers[i] = !rope[i];
    auto types = read_layer_types(c, L, {"full_attention", "chunked_attention"}, [&rope](int64_t i) {
      return rope[static_cast<size_t>(i)] ? "chunked_attention" : "full_attention";
    });
    std::optional<int64_t> chunk;
    if (!c.present("attention_chunk_size") || c.has("attention_chunk_size"))  // null: no chunking
      chunk = c.check_int("attention_chunk_size", c.get_int("attention_chunk_size", 8192), 1, hf::kMaxPositions);
    spec.attention_chunk.assign(static_cast<size_t>(L), std::nullopt);
    for (size_t i = 0; i < types.size(); ++i)
      if (types[i] == "chunked_attention") spec.attention_chunk[i] = chunk;
    if (c.get_bool("use_qk_norm", true)) spec.qk_norm = QkNorm::kUnweightedAfterRope;
    if (c.get_bool("attn_temperature_tuning", true))
      spec.query_temperature = QueryTemperature{
          c.check_positive("floor_scale", c.get_double("floor_scale", 8192)),
          c.check_positive("attn_scale", c.get_double("attn_scale", 0.1)), /*offset=*/1, /*nope_layers_only=*/true};
    MoeOptions moe;
    moe.num_experts = c.check_int("num_local_experts", c.get_int("num_local_experts", 16), 1, hf::kMaxExperts);
    moe.top_k = c.check_int("num_experts_per_tok", c.get_int("num_experts_per_tok", 1), 1, moe.num_experts);
    moe.expert_intermediate = c.check_int("intermediate_size", c.get_int("intermediate_size", 8192), 1, hf::kMaxWidth);
    moe.expert.act = spec.mlp.act;
    moe.router_name = "router";
    moe.scoring = MoeOptions::Scoring::kTopKSigmoid;
    moe.normalize_top_k = false;
    moe.weights_on_input = true;
    moe.shared_expert_intermediate = moe.expert_intermediate;
    moe.shared_expert_gate_name = "";
    moe.make_experts = [](int64_t hidden, const MoeOptions& m, const at::TensorOptions& o) -> std::unique_ptr<ExpertBank> {
      return std::make_unique<Llama4Experts>(m.num_experts, hidden, m.expert_intermediate, m.expert.act, o);
    };
    spec.moe = moe;
    if (c.has("moe_layers")) {
      spec.moe_layers = read_layer_indices(c, "moe_layers", L);
    } else {
      auto step = c.check_int("interleave_moe_layer_step", c.get_int("interleave_moe_layer_step", 1), 1, hf::kMaxLayers);
      spec.moe_layers.assign(static_cast<size_t>(L), false);
      for (int64_t i = step - 1; i < L; i += step) spec.moe_layers[static_cast<size_t>(i)] = true;
    }
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "llama4_text", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 16,
    "intermediate_size_mlp": 48, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 8, "rms_norm_eps": 1e-5, "max_position_embeddings": 64, "num_local_experts": 4,
    "num_experts_per_tok": 1, "interleave_moe_layer_step": 2, "no_rope_layer_interval": 2, "attention_chunk_size": 4,
    "floor_scale": 4, "attn_scale": 0.1})";
  return arch;
}

}  // namespace automodel::models
