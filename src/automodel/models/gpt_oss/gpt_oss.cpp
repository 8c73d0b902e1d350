// gpt-oss: attention with a learned sink logit per head and biases on every projection,
// alternating sliding (128) / full layers, yarn rope, RMSNorm scaled in fp32, and in every layer
// a MoE whose router (with bias) softmaxes its top-k logits and whose experts are stored fused:
// gate_up_proj (E, H, 2I) with gate and up interleaved column by column, down_proj (E, I, H),
// each with a bias, and a clamped SwiGLU: (clamp(up) + 1) * g * sigmoid(1.702 g), g = min(gate, limit).
#include <ATen/TensorOperators.h>
#include <ATen/ops/clamp.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/sigmoid.h>

#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

class GptOssExperts : public ExpertBank {
 public:
  GptOssExperts(int64_t hidden, int64_t intermediate, int64_t num_experts, double limit, const at::TensorOptions& o)
      : limit_(limit) {
    gate_up_ = add_parameter("gate_up_proj", at::empty({num_experts, hidden, 2 * intermediate}, o));
    gate_up_bias_ = add_parameter("gate_up_proj_bias", at::empty({num_experts, 2 * intermediate}, o));
    down_ = add_parameter("down_proj", at::empty({num_experts, intermediate, hidden}, o));
    down_bias_ = add_parameter("down_proj_bias", at::empty({num_experts, hidden}, o));
  }

  int64_t num_experts() const override { return gate_up_->size(0); }
  at::Tensor forward(int64_t e, const at::Tensor& x) const override {
    auto gate_up = x.matmul((*gate_up_)[e]) + (*gate_up_bias_)[e];  // (n, 2I): gate, up, gate, up, ...
    auto gate = gate_up.slice(-1, 0, c10::nullopt, 2).clamp_max(limit_);
    auto up = gate_up.slice(-1, 1, c10::nullopt, 2).clamp(-limit_, limit_);
    auto glu = gate * at::sigmoid(gate * kAlpha);
    return ((up + 1) * glu).matmul((*down_)[e]) + (*down_bias_)[e];
  }

 private:
  static constexpr double kAlpha = 1.702;
  double limit_;
  at::Tensor *gate_up_, *gate_up_bias_, *down_, *down_bias_;
};

}  // namespace

Architecture gpt_oss_architecture() {
  Architecture arch;
  arch.model_type = "gpt_oss";
  arch.hf_class = "GptOssForCausalLM";
  arch.features = "attention sinks, alternating sliding/full layers, biased router softmaxing its top-k, fused "
                  "experts with a clamped SwiGLU, yarn rope";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.head_dim = 64;
    defaults.norm_eps = 1e-5;
    defaults.rope_theta = 150000.0;
    auto spec = read_decoder_spec(c, defaults);
    spec.qkv_bias = spec.o_bias = c.get_bool("attention_bias", true);
    spec.norm.scale_in_fp32 = true;
    spec.attention_sinks = true;
    auto types = read_layer_types(c, spec.num_layers, {"full_attention", "sliding_attention"}, every_nth_layer_full(2));
    set_sliding_layers(spec, types, read_sliding_window(c, 128));
    MoeOptions moe;
    const char* experts_key = c.has("num_local_experts") ? "num_local_experts" : "num_experts";
    moe.num_experts = c.check_int(experts_key, c.get_int(experts_key, 128), 1, hf::kMaxExperts);
    moe.top_k = c.check_int("num_experts_per_tok", c.get_int("num_experts_per_tok", 4), 1, moe.num_experts);
    moe.expert_intermediate = spec.intermediate_size;
    moe.router_name = "router";
    moe.router_bias = true;
    moe.scoring = MoeOptions::Scoring::kTopKSoftmax;
    const double limit = c.check_positive("swiglu_limit", c.get_double("swiglu_limit", 7.0));
    moe.make_experts = [limit](int64_t hidden, const MoeOptions& m, const at::TensorOptions& o) -> std::unique_ptr<ExpertBank> {
      return std::make_unique<GptOssExperts>(hidden, m.expert_intermediate, m.num_experts, limit, o);
    };
    if (c.get_bool("output_router_logits", false))
      moe.aux_loss_coef = c.check_finite("router_aux_loss_coef", c.get_double("router_aux_loss_coef", 0.001));
    spec.moe = moe;
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "gpt_oss", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 16,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 64, "sliding_window": 4, "num_local_experts": 4, "num_experts_per_tok": 2,
    "rope_parameters": {"rope_type": "yarn", "factor": 4.0, "beta_fast": 32.0, "beta_slow": 1.0, "truncate": false,
                        "original_max_position_embeddings": 16, "rope_theta": 150000.0}})";
  return arch;
}

}  // namespace automodel::models
