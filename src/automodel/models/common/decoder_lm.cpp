#include "automodel/models/common/decoder_lm.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/scalar_tensor.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/models/common/checkpoint.h"
#include "automodel/models/common/decoder_stack.h"

namespace automodel::models {

// Every size is range-checked before it is used: a bad config.json fails here, naming the field,
// rather than as a huge allocation or a shape error deep in LibTorch.
DecoderSpec read_decoder_spec(const hf::JsonFields& c) {
  using namespace hf;  // the kMax* bounds
  DecoderSpec s;
  s.vocab_size = c.check_int("vocab_size", c.get_int("vocab_size"), 1, kMaxVocabSize);
  s.hidden_size = c.check_int("hidden_size", c.get_int("hidden_size"), 1, kMaxWidth);
  s.intermediate_size = c.check_int("intermediate_size", c.get_int("intermediate_size"), 1, kMaxWidth);
  s.num_layers = c.check_int("num_hidden_layers", c.get_int("num_hidden_layers"), 1, kMaxLayers);
  s.num_heads = c.check_int("num_attention_heads", c.get_int("num_attention_heads"), 1, kMaxHeads);
  s.num_kv_heads = c.check_int("num_key_value_heads", c.get_int("num_key_value_heads", s.num_heads), 1, s.num_heads);
  c.check_divisible("num_attention_heads", s.num_heads, "num_key_value_heads", s.num_kv_heads);
  if (c.has("head_dim")) {
    s.head_dim = c.check_int("head_dim", c.get_int("head_dim"), 1, kMaxWidth);
  } else {
    c.check_divisible("hidden_size", s.hidden_size, "num_attention_heads", s.num_heads);
    s.head_dim = s.hidden_size / s.num_heads;
  }
  s.norm_eps = c.check_positive("rms_norm_eps", c.get_double("rms_norm_eps", 1e-6));
  s.act = parse_activation(c.get_string("hidden_act", "silu"), c.where("hidden_act"));
  s.qkv_bias = s.o_bias = c.get_bool("attention_bias", false);
  s.mlp_bias = c.get_bool("mlp_bias", false);
  s.tie_word_embeddings = c.get_bool("tie_word_embeddings", false);
  s.rope = hf::parse_rope_config(c, s.head_dim);
  s.sliding_window.assign(s.num_layers, std::nullopt);
  return s;
}

std::optional<int64_t> read_sliding_window(const hf::JsonFields& c) {
  if (!c.has("sliding_window")) return std::nullopt;
  return c.check_int("sliding_window", c.get_int("sliding_window"), 1, hf::kMaxPositions);
}

void reject_unsupported(const hf::JsonFields& config, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    if (!config.has(key)) continue;
    const auto& v = config.raw(key);
    if (v.is_boolean() && !v.get<bool>()) continue;
    throw NotSupportedError(fmt::format("[config] {} = {} is not supported by this architecture yet",
                                        config.where(key), v.dump()));
  }
}

class DecoderAttention : public Module {
 public:
  DecoderAttention(const DecoderSpec& s, const at::TensorOptions& o) : spec_(s) {
    auto linear = [&o](int64_t in, int64_t out, bool bias) { return std::make_unique<Linear>(in, out, bias, o); };
    const int64_t q_width = s.num_heads * s.head_dim, kv_width = s.num_kv_heads * s.head_dim;
    q_proj_ = add_module<LinearLayer>("q_proj", linear(s.hidden_size, q_width, s.qkv_bias));
    k_proj_ = add_module<LinearLayer>("k_proj", linear(s.hidden_size, kv_width, s.qkv_bias));
    v_proj_ = add_module<LinearLayer>("v_proj", linear(s.hidden_size, kv_width, s.qkv_bias));
    o_proj_ = add_module<LinearLayer>("o_proj", linear(q_width, s.hidden_size, s.o_bias));
    if (s.qk_norm) {
      q_norm_ = add_module("q_norm", std::make_unique<RMSNorm>(s.head_dim, s.norm_eps, s.norm_unit_offset, o));
      k_norm_ = add_module("k_norm", std::make_unique<RMSNorm>(s.head_dim, s.norm_eps, s.norm_unit_offset, o));
    }
    scale_ = s.attention_scale > 0 ? s.attention_scale : 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  }

  // x: (B, T, H) -> (B, T, H)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask,
                     KVCache::Layer* cache) const {
    const int64_t B = x.size(0), T = x.size(1), D = spec_.head_dim;
    auto q = q_proj_->forward(x).view({B, T, spec_.num_heads, D});
    auto k = k_proj_->forward(x).view({B, T, spec_.num_kv_heads, D});
    auto v = v_proj_->forward(x).view({B, T, spec_.num_kv_heads, D}).transpose(1, 2);
    if (q_norm_) {
      q = q_norm_->forward(q);
      k = k_norm_->forward(k);
    }
    q = apply_rotary(q.transpose(1, 2), cos, sin);  // (B, Hq, T, D)
    k = apply_rotary(k.transpose(1, 2), cos, sin);  // (B, Hkv, T, D)
    if (cache) {
      if (cache->k.defined()) {
        k = at::cat({cache->k, k}, 2);
        v = at::cat({cache->v, v}, 2);
      }
      cache->k = k;
      cache->v = v;
    }
    auto out = scaled_attention(q, k, v, mask, scale_);  // (B, Hq, T, D)
    return o_proj_->forward(out.transpose(1, 2).reshape({B, T, spec_.num_heads * D}));
  }

 private:
  const DecoderSpec& spec_;
  double scale_;
  Slot<LinearLayer> q_proj_, k_proj_, v_proj_, o_proj_;
  Slot<RMSNorm> q_norm_, k_norm_;
};

class DecoderLayer : public Module {
 public:
  DecoderLayer(const DecoderSpec& s, const at::TensorOptions& o) {
    self_attn_ = add_module("self_attn", std::make_unique<DecoderAttention>(s, o));
    if (s.moe) {
      moe_ = add_module(s.mlp_name, std::make_unique<SparseMoe>(s.hidden_size, *s.moe, s.act, o));
    } else {
      mlp_ = add_module(s.mlp_name,
                        std::make_unique<GatedMlp>(s.hidden_size, s.intermediate_size, s.mlp_bias, s.act, GatedMlpNames{}, o));
    }
    input_layernorm_ = add_module("input_layernorm", std::make_unique<RMSNorm>(s.hidden_size, s.norm_eps, s.norm_unit_offset, o));
    post_attention_layernorm_ =
        add_module("post_attention_layernorm", std::make_unique<RMSNorm>(s.hidden_size, s.norm_eps, s.norm_unit_offset, o));
  }

  // x: (B, T, H) -> (B, T, H); router_logits set for MoE layers.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask,
                     KVCache::Layer* cache, at::Tensor* router_logits) const {
    auto h = x + self_attn_->forward(input_layernorm_->forward(x), cos, sin, mask, cache);
    auto normed = post_attention_layernorm_->forward(h);
    if (moe_) {
      auto [out, logits] = moe_->forward(normed);
      *router_logits = logits;
      return h + out;
    }
    return h + mlp_->forward(normed);
  }

 private:
  Slot<DecoderAttention> self_attn_;
  Slot<GatedMlp> mlp_;
  Slot<SparseMoe> moe_;
  Slot<RMSNorm> input_layernorm_, post_attention_layernorm_;
};

// Lays out submodules under "model." like HF's *ForCausalLM.model.
class DecoderBody : public Module {
 public:
  DecoderBody(const DecoderSpec& s, const at::TensorOptions& o) {
    embed_tokens = add_module("embed_tokens", std::make_unique<Embedding>(s.vocab_size, s.hidden_size, o));
    layers = add_module("layers", std::make_unique<ModuleList<DecoderLayer>>());
    for (int64_t i = 0; i < s.num_layers; ++i) layers->append(std::make_unique<DecoderLayer>(s, o));
    norm = add_module("norm", std::make_unique<RMSNorm>(s.hidden_size, s.norm_eps, s.norm_unit_offset, o));
  }
  Slot<Embedding> embed_tokens;
  Slot<ModuleList<DecoderLayer>> layers;
  Slot<RMSNorm> norm;
};

DecoderLM::DecoderLM(hf::ModelConfig config, DecoderSpec spec, const at::TensorOptions& options)
    : CausalLM(std::move(config)), spec_(std::move(spec)), rope_(spec_.rope) {
  body_ = add_module("model", std::make_unique<DecoderBody>(spec_, options));
  if (!spec_.tie_word_embeddings)
    lm_head_ =
        add_module<LinearLayer>("lm_head", std::make_unique<Linear>(spec_.hidden_size, spec_.vocab_size, false, options));
}

DecoderLM::~DecoderLM() = default;

const at::Tensor& DecoderLM::output_embedding() const {
  return lm_head_ ? lm_head_->weight() : body_->embed_tokens->weight();
}

std::vector<std::string> DecoderLM::tied_aliases() const {
  if (spec_.tie_word_embeddings) return {"lm_head.weight"};
  return {};
}

at::Tensor DecoderLM::auxiliary_loss(const ForwardOutput& out, const at::Tensor& real_tokens) const {
  if (!spec_.moe || spec_.moe->aux_loss_coef <= 0 || out.router_logits.empty()) return {};
  std::vector<at::Tensor> logits;
  for (const auto& [_, l] : out.router_logits) logits.push_back(l);
  return load_balancing_loss(logits, spec_.moe->num_experts, spec_.moe->top_k, real_tokens) * spec_.moe->aux_loss_coef;
}

ForwardOutput DecoderLM::forward(const ModelInputs& inputs, const ForwardOptions& options) {
  DecoderStack stack(inputs, options, spec_.num_layers);
  auto h = body_->embed_tokens->forward(inputs.input_ids);  // (B, T, H)
  if (spec_.scale_embeddings)  // HF multiplies by sqrt(H) rounded to the model dtype
    h = h * at::scalar_tensor(std::sqrt(static_cast<double>(spec_.hidden_size)), h.options());
  auto [cos, sin] = rope_.cos_sin(stack.positions(), h.scalar_type());
  DecoderLayers layers;
  layers.count = spec_.num_layers;
  layers.forward = [this, cos = cos, sin = sin](int64_t i, const at::Tensor& x, const at::Tensor& mask,
                                                KVCache::Layer* kv, at::Tensor* router) {
    return (*body_->layers)[static_cast<size_t>(i)].forward(x, cos, sin, mask, kv, router);
  };
  layers.window = [this](int64_t i) { return spec_.sliding_window[static_cast<size_t>(i)]; };
  if (spec_.moe)
    layers.router_name = [this](int64_t i) { return fmt::format("model.layers.{}.{}.gate", i, spec_.mlp_name); };
  layers.final_norm = [this](const at::Tensor& x) { return body_->norm->forward(x); };
  return stack.run(*this, h, layers);
}

}  // namespace automodel::models
