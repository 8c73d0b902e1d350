// LFM2 (Liquid AI): a pre-norm decoder whose layers are either GQA attention (per-head q/k RMSNorms
// "q_layernorm"/"k_layernorm", output "out_proj") or a double-gated short convolution ("conv":
// in_proj -> B, C, x; y = causal depthwise conv(B * x); out_proj(C * y)). The final norm is named
// "embedding_norm" though it follows the last layer; the SwiGLU's width may be auto-adjusted.
#include <ATen/TensorOperators.h>
#include <ATen/ops/empty.h>

#include "automodel/common/error.h"
#include "automodel/models/common/causal_conv.h"
#include "automodel/models/common/decoder_layer.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

class ShortConv : public AttentionLayer {
 public:
  ShortConv(int64_t hidden, int64_t kernel, bool bias, const at::TensorOptions& o) {
    in_proj_ = add_module<LinearLayer>("in_proj", std::make_unique<Linear>(hidden, 3 * hidden, bias, o));
    weight_ = add_parameter("conv.weight", at::empty({hidden, 1, kernel}, o));
    if (bias) bias_ = add_parameter("conv.bias", at::empty({hidden}, o));
    out_proj_ = add_module<LinearLayer>("out_proj", std::make_unique<Linear>(hidden, hidden, bias, o));
  }
  at::Tensor forward(const at::Tensor& x, const LayerPositions&, const at::Tensor& mask,
                     KVCache::Layer* cache) const override {
    auto bcx = in_proj_->forward(x).chunk(3, -1);  // B, C, x: (B, T, H) each
    // A KV-cache entry keeps the conv's last inputs (B * x) in `k`.
    auto y = causal_depthwise_conv(bcx[0] * bcx[2], *weight_, bias_ ? *bias_ : at::Tensor(), mask,
                                   cache ? &cache->conv : nullptr);
    return out_proj_->forward(bcx[1] * y);
  }

 private:
  Slot<LinearLayer> in_proj_, out_proj_;
  at::Tensor* weight_ = nullptr;
  at::Tensor* bias_ = nullptr;
};

// block_auto_adjust_ff_dim: 2/3 of the width, times block_ffn_dim_multiplier, rounded up to a
// multiple of block_multiple_of (LLaMA's SwiGLU sizing).
int64_t feed_forward_width(const hf::JsonFields& c, int64_t width) {
  if (!c.get_bool("block_auto_adjust_ff_dim", true)) return width;
  width = 2 * width / 3;
  if (!c.has("block_ffn_dim_multiplier")) return width;
  width = static_cast<int64_t>(c.check_positive("block_ffn_dim_multiplier", c.get_double("block_ffn_dim_multiplier")) *
                               static_cast<double>(width));
  auto multiple = c.check_int("block_multiple_of", c.get_int("block_multiple_of", 256), 1, hf::kMaxWidth);
  return multiple * ((width + multiple - 1) / multiple);
}

}  // namespace

Architecture lfm2_architecture() {
  Architecture arch;
  arch.model_type = "lfm2";
  arch.hf_class = "Lfm2ForCausalLM";
  arch.features = "double-gated short-convolution layers beside GQA layers (layer_types / full_attn_idxs), per-head "
                  "q/k RMSNorms, auto-sized SwiGLU";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    ConfigDefaults defaults;
    defaults.eps_key = "norm_eps";
    defaults.norm_eps = 1e-5;
    defaults.rope_theta = 1000000.0;
    defaults.tie_word_embeddings = c.get_bool("tie_embedding", true);  // LFM2's own key, which HF prefers
    auto spec = read_decoder_spec(c, defaults);
    if (c.has("tie_embedding")) spec.tie_word_embeddings = c.get_bool("tie_embedding");
    int64_t width = c.has("block_ff_dim") ? c.check_int("block_ff_dim", c.get_int("block_ff_dim"), 1, hf::kMaxWidth)
                                          : (spec.intermediate_size > 0 ? spec.intermediate_size : 12288);
    spec.intermediate_size = feed_forward_width(c, width);
    AM_CHECK(spec.intermediate_size > 0, "[config] {}: the feed-forward width {} auto-adjusts to 0 (2/3 of it, "
             "block_auto_adjust_ff_dim); expected a larger intermediate_size", config.label, width);
    spec.mlp.act = Activation::kSilu;  // hard-wired in HF, whatever hidden_act says
    spec.mlp.names = MlpNames{"w1", "w3", "w2", ""};
    spec.qk_norm = QkNorm::kPerHead;
    auto& n = spec.names;
    n.o = "out_proj", n.q_norm = "q_layernorm", n.k_norm = "k_layernorm", n.mlp = "feed_forward";
    n.attn_in_norm = "operator_norm", n.mlp_in_norm = "ffn_norm", n.final_norm = "embedding_norm";
    // Without layer_types: conv except on full_attn_idxs (every layer when that is absent too).
    auto attention = c.has("full_attn_idxs") ? read_layer_indices(c, "full_attn_idxs", spec.num_layers)
                                             : std::vector<bool>(static_cast<size_t>(spec.num_layers), true);
    auto types = read_layer_types(c, spec.num_layers, {"full_attention", "conv"}, [&attention](int64_t i) {
      return attention[static_cast<size_t>(i)] ? "full_attention" : "conv";
    });
    const auto kernel = c.check_int("conv_L_cache", c.get_int("conv_L_cache", 3), 1, 64);
    const bool bias = c.get_bool("conv_bias", false);
    spec.attention_names.resize(types.size());
    for (size_t i = 0; i < types.size(); ++i) spec.attention_names[i] = types[i] == "conv" ? "conv" : "self_attn";
    spec.make_attention = [types, kernel, bias](const DecoderSpec& s, int64_t layer,
                                                const at::TensorOptions& o) -> std::unique_ptr<AttentionLayer> {
      if (types[static_cast<size_t>(layer)] != "conv") return nullptr;
      return std::make_unique<ShortConv>(s.hidden_size, kernel, bias, o);
    };
    return std::make_unique<DecoderLM>(config, spec, options);
  };
  arch.tiny_config_json = R"({"model_type": "lfm2", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 72,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "norm_eps": 1e-5,
    "max_position_embeddings": 64, "full_attn_idxs": [1, 3], "conv_L_cache": 3, "block_multiple_of": 16,
    "block_ffn_dim_multiplier": 1.0})";
  return arch;
}

}  // namespace automodel::models
