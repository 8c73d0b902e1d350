// GPT-2: learned absolute positions, LayerNorm with bias, fused c_attn, Conv1D weights stored
// (in, out), tied head. Parameter names live under "transformer." as in GPT2LMHeadModel.
#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>

#include <cmath>

#include "automodel/common/error.h"
#include "automodel/models/common/causal_lm.h"
#include "automodel/models/common/decoder_stack.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/registry.h"

namespace automodel::models {
namespace {

struct Gpt2Spec {
  int64_t vocab_size, n_positions, n_embd, n_layer, n_head, n_inner;
  double eps;
  Activation act;
  bool scale_attn_weights, scale_by_inverse_layer_idx, tie;
};

class Gpt2Attention : public Module {
 public:
  Gpt2Attention(const Gpt2Spec& s, int64_t layer_idx, const at::TensorOptions& o) : s_(s) {
    c_attn_ = add_module<LinearLayer>("c_attn", std::make_unique<Conv1D>(s.n_embd, 3 * s.n_embd, o));
    c_proj_ = add_module<LinearLayer>("c_proj", std::make_unique<Conv1D>(s.n_embd, s.n_embd, o));
    double head_dim = static_cast<double>(s.n_embd / s.n_head);
    scale_ = s.scale_attn_weights ? 1.0 / std::sqrt(head_dim) : 1.0;
    if (s.scale_by_inverse_layer_idx) scale_ /= static_cast<double>(layer_idx + 1);
  }

  // x: (B, T, C) -> (B, T, C)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, KVCache::Layer* cache) const {
    const int64_t B = x.size(0), T = x.size(1), H = s_.n_head, D = s_.n_embd / s_.n_head;
    auto qkv = c_attn_->forward(x).view({B, T, 3, H, D});
    auto q = qkv.select(2, 0).transpose(1, 2), k = qkv.select(2, 1).transpose(1, 2), v = qkv.select(2, 2).transpose(1, 2);
    append_to_cache(cache, k, v);
    auto out = scaled_attention(q, k, v, mask, scale_);
    return c_proj_->forward(out.transpose(1, 2).reshape({B, T, s_.n_embd}));
  }

 private:
  const Gpt2Spec& s_;
  double scale_;
  Slot<LinearLayer> c_attn_, c_proj_;
};

class Gpt2Mlp : public Module {
 public:
  Gpt2Mlp(const Gpt2Spec& s, const at::TensorOptions& o) : act_(s.act) {
    c_fc_ = add_module<LinearLayer>("c_fc", std::make_unique<Conv1D>(s.n_embd, s.n_inner, o));
    c_proj_ = add_module<LinearLayer>("c_proj", std::make_unique<Conv1D>(s.n_inner, s.n_embd, o));
  }
  at::Tensor forward(const at::Tensor& x) const { return c_proj_->forward(activate(act_, c_fc_->forward(x))); }

 private:
  Activation act_;
  Slot<LinearLayer> c_fc_, c_proj_;
};

class Gpt2Block : public Module {
 public:
  Gpt2Block(const Gpt2Spec& s, int64_t layer_idx, const at::TensorOptions& o) {
    ln_1_ = add_module("ln_1", std::make_unique<LayerNorm>(s.n_embd, s.eps, o));
    attn_ = add_module("attn", std::make_unique<Gpt2Attention>(s, layer_idx, o));
    ln_2_ = add_module("ln_2", std::make_unique<LayerNorm>(s.n_embd, s.eps, o));
    mlp_ = add_module("mlp", std::make_unique<Gpt2Mlp>(s, o));
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, KVCache::Layer* cache) const {
    auto h = x + attn_->forward(ln_1_->forward(x), mask, cache);
    return h + mlp_->forward(ln_2_->forward(h));
  }

 private:
  Slot<LayerNorm> ln_1_, ln_2_;
  Slot<Gpt2Attention> attn_;
  Slot<Gpt2Mlp> mlp_;
};

class Gpt2Body : public Module {
 public:
  Gpt2Body(const Gpt2Spec& s, const at::TensorOptions& o) {
    wte = add_module("wte", std::make_unique<Embedding>(s.vocab_size, s.n_embd, o));
    wpe = add_module("wpe", std::make_unique<Embedding>(s.n_positions, s.n_embd, o));
    h = add_module("h", std::make_unique<ModuleList<Gpt2Block>>());
    for (int64_t i = 0; i < s.n_layer; ++i) h->append(std::make_unique<Gpt2Block>(s, i, o));
    ln_f = add_module("ln_f", std::make_unique<LayerNorm>(s.n_embd, s.eps, o));
  }
  Slot<Embedding> wte, wpe;
  Slot<ModuleList<Gpt2Block>> h;
  Slot<LayerNorm> ln_f;
};

class Gpt2LM : public CausalLM {
 public:
  Gpt2LM(hf::ModelConfig config, Gpt2Spec spec, const at::TensorOptions& o) : CausalLM(std::move(config)), s_(spec) {
    body_ = add_module("transformer", std::make_unique<Gpt2Body>(s_, o));
    if (!s_.tie)
      lm_head_ = add_module<LinearLayer>("lm_head", std::make_unique<Linear>(s_.n_embd, s_.vocab_size, false, o));
  }

  ForwardOutput forward(const ModelInputs& inputs, const ForwardOptions& options) override {
    DecoderStack stack(inputs, options, s_.n_layer);
    const auto& positions = stack.positions();
    AM_CHECK(positions.numel() == 0 || positions.max().item<int64_t>() < s_.n_positions,
             "[gpt2] position {} exceeds n_positions {}", positions.max().item<int64_t>(), s_.n_positions);
    auto h = body_->wte->forward(inputs.input_ids) + body_->wpe->forward(positions);  // (B, T, C)
    DecoderLayers layers;
    layers.count = s_.n_layer;
    layers.forward = [this](int64_t i, const at::Tensor& x, const LayerCall& call) {
      return (*body_->h)[static_cast<size_t>(i)].forward(x, call.mask, call.kv);
    };
    layers.final_norm = [this](const at::Tensor& x) { return body_->ln_f->forward(x); };
    return stack.run(*this, h, layers);
  }

  const at::Tensor& output_embedding() const override {
    return lm_head_ ? lm_head_->weight() : body_->wte->weight();
  }
  int64_t num_layers() const override { return s_.n_layer; }
  std::vector<std::string> tied_aliases() const override {
    return s_.tie ? std::vector<std::string>{"lm_head.weight"} : std::vector<std::string>{};
  }
  // The causal-mask buffers older GPT-2 checkpoints saved.
  std::vector<std::string> ignored_checkpoint_suffixes() const override { return {".attn.bias", ".attn.masked_bias"}; }
  std::string base_model_prefix() const override { return "transformer"; }
  std::string layer_prefix() const override { return "transformer.h"; }

 private:
  Gpt2Spec s_;
  Slot<Gpt2Body> body_;
  Slot<LinearLayer> lm_head_;
};

}  // namespace

Architecture gpt2_architecture() {
  Architecture arch;
  arch.model_type = "gpt2";
  arch.features = "learned positions, LayerNorm, Conv1D projections, tied head";
  arch.hf_class = "GPT2LMHeadModel";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    Gpt2Spec s;
    using namespace hf;  // the kMax* bounds: checked before anything is allocated
    s.vocab_size = c.check_int("vocab_size", c.get_int("vocab_size", 50257), 1, kMaxVocabSize);
    s.n_positions = c.check_int("n_positions", c.get_int("n_positions", 1024), 1, kMaxPositions);
    s.n_embd = c.check_int("n_embd", c.get_int("n_embd", 768), 1, kMaxWidth);
    s.n_layer = c.check_int("n_layer", c.get_int("n_layer", 12), 1, kMaxLayers);
    s.n_head = c.check_int("n_head", c.get_int("n_head", 12), 1, kMaxHeads);
    c.check_divisible("n_embd", s.n_embd, "n_head", s.n_head);
    s.n_inner = c.check_int("n_inner", c.get_int("n_inner", 4 * s.n_embd), 1, kMaxWidth);
    s.eps = c.check_positive("layer_norm_epsilon", c.get_double("layer_norm_epsilon", 1e-5));
    s.act = parse_activation(c.get_string("activation_function", "gelu_new"), c.where("activation_function"));
    s.scale_attn_weights = c.get_bool("scale_attn_weights", true);
    s.scale_by_inverse_layer_idx = c.get_bool("scale_attn_by_inverse_layer_idx", false);
    s.tie = c.get_bool("tie_word_embeddings", true);
    return std::make_unique<Gpt2LM>(config, s, options);
  };
  arch.tiny_config_json = R"({"model_type": "gpt2", "vocab_size": 96, "n_embd": 32, "n_layer": 2, "n_head": 4,
    "n_inner": 48, "n_positions": 64, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5})";
  return arch;
}

}  // namespace automodel::models
