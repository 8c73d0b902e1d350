#include "automodel/models/common/decoder_lm.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/scalar_tensor.h>

#include <cmath>

#include <fmt/format.h>

#include "automodel/common/error.h"
#include "automodel/models/common/decoder_layer.h"
#include "automodel/models/common/decoder_stack.h"

namespace automodel::models {

// Lays out submodules under the body's name ("model.") like HF's *ForCausalLM.model.
class DecoderBody : public Module {
 public:
  DecoderBody(const DecoderSpec& s, const std::vector<bool>& moe_layers, const at::TensorOptions& o) {
    embed_tokens = add_module(s.names.embed, std::make_unique<Embedding>(s.vocab_size, s.hidden_size, o, s.padding_idx));
    layers = add_module(s.names.layers, std::make_unique<ModuleList<DecoderLayer>>());
    for (int64_t i = 0; i < s.num_layers; ++i)
      layers->append(std::make_unique<DecoderLayer>(s, i, moe_layers[static_cast<size_t>(i)], o));
    norm = add_module(s.names.final_norm, make_norm(s.norm, s.hidden_size, o));
    if (s.per_layer_input_size > 0) {
      const int64_t width = s.num_layers * s.per_layer_input_size;
      embed_tokens_per_layer = add_module(
          "embed_tokens_per_layer", std::make_unique<Embedding>(s.per_layer_input_vocab, width, o, s.padding_idx));
      per_layer_model_projection = add_module<LinearLayer>(
          "per_layer_model_projection", std::make_unique<Linear>(s.hidden_size, width, false, o));
      per_layer_projection_norm = add_module("per_layer_projection_norm", make_norm(s.norm, s.per_layer_input_size, o));
    }
  }
  // Each layer's own input (B, T, layers, size): the token's row of the per-layer table (scaled
  // by size^0.5 in the model's dtype) and the normalised projection of its embedding
  // (x hidden^-0.5), averaged as (a + b) x 2^-0.5.
  at::Tensor per_layer_inputs(const DecoderSpec& s, const at::Tensor& input_ids, const at::Tensor& embeddings) const {
    const auto shape = std::vector<int64_t>{input_ids.size(0), input_ids.size(1), s.num_layers, s.per_layer_input_size};
    auto table = embed_tokens_per_layer->forward(input_ids);
    table = table * at::scalar_tensor(std::sqrt(static_cast<double>(s.per_layer_input_size)), table.options());
    auto projected = per_layer_model_projection->forward(embeddings) * std::pow(static_cast<double>(s.hidden_size), -0.5);
    projected = per_layer_projection_norm->forward(projected.view(shape));
    return (projected + table.view(shape)) * std::pow(2.0, -0.5);
  }
  Slot<Embedding> embed_tokens, embed_tokens_per_layer;
  Slot<ModuleList<DecoderLayer>> layers;
  Slot<Norm> norm, per_layer_projection_norm;
  Slot<LinearLayer> per_layer_model_projection;
};

namespace {
void check_layer_lists(const DecoderSpec& s) {
  auto check = [&s](size_t size, const char* what, bool may_be_empty) {
    AM_CHECK((may_be_empty && size == 0) || size == static_cast<size_t>(s.num_layers),
             "internal: DecoderSpec.{} has {} entries for {} layers", what, size, s.num_layers);
  };
  check(s.sliding_window.size(), "sliding_window", false);
  check(s.nope_layers.size(), "nope_layers", true);
  check(s.moe_layers.size(), "moe_layers", true);
  check(s.attention_names.size(), "attention_names", true);
  check(s.attention_chunk.size(), "attention_chunk", true);
  check(s.intermediate_sizes.size(), "intermediate_sizes", true);
  check(s.kv_source.size(), "kv_source", true);
  check(s.attention_layers.size(), "attention_layers", true);
  check(s.feed_forward_layers.size(), "feed_forward_layers", true);
}
}  // namespace

DecoderLM::DecoderLM(hf::ModelConfig config, DecoderSpec spec, const at::TensorOptions& options)
    : CausalLM(std::move(config)), spec_(std::move(spec)), rope_(spec_.rope) {
  check_layer_lists(spec_);
  if (config_.composite) {  // a VLM's language model keeps its checkpoint names
    spec_.names.body = config_.composite->body;
    spec_.names.lm_head = config_.composite->lm_head;
  }
  if (spec_.local_rope) local_rope_.emplace(*spec_.local_rope);
  std::vector<bool> moe_layers(static_cast<size_t>(spec_.num_layers));
  for (int64_t i = 0; i < spec_.num_layers; ++i) {
    moe_layers[static_cast<size_t>(i)] = is_moe_layer(i);
    const bool has_feed_forward = spec_.feed_forward_layers.empty() || spec_.feed_forward_layers[static_cast<size_t>(i)];
    AM_CHECK(is_moe_layer(i) || !has_feed_forward || spec_.intermediate_size > 0 || !spec_.intermediate_sizes.empty(),
             "[config] {}: layer {} has a dense MLP but config.json has no intermediate_size", config_.label, i);
  }
  body_ = add_module(spec_.names.body, std::make_unique<DecoderBody>(spec_, moe_layers, options));
  if (!spec_.tie_word_embeddings)
    lm_head_ = add_module<LinearLayer>(
        spec_.names.lm_head, std::make_unique<Linear>(spec_.hidden_size, spec_.vocab_size, spec_.lm_head_bias, options));
}

DecoderLM::~DecoderLM() = default;

bool DecoderLM::is_moe_layer(int64_t i) const {
  const auto at = static_cast<size_t>(i);
  return spec_.moe && (spec_.moe_layers.empty() || spec_.moe_layers[at]) &&
         (spec_.feed_forward_layers.empty() || spec_.feed_forward_layers[at]);
}

const at::Tensor& DecoderLM::output_embedding() const {
  return lm_head_ ? lm_head_->weight() : body_->embed_tokens->weight();
}

std::vector<std::string> DecoderLM::tied_aliases() const {
  if (spec_.tie_word_embeddings) return {spec_.names.lm_head + ".weight"};
  return {};
}

OutputHead DecoderLM::head() const {
  OutputHead head{output_embedding(), spec_.logit_scale, spec_.final_softcap};
  if (lm_head_) head.bias = lm_head_->bias();
  return head;
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
  if (spec_.embedding_scale > 0)
    h = spec_.embedding_scale_in_dtype ? h * at::scalar_tensor(spec_.embedding_scale, h.options())
                                       : h * spec_.embedding_scale;
  h = place_features(inputs, h);
  LayerPositions global, local, none;
  global.ids = local.ids = none.ids = stack.positions();
  std::tie(global.cos, global.sin) = inputs.rope_position_ids.defined()
                                         ? rope_.cos_sin_sections(inputs.rope_position_ids, h.scalar_type())
                                         : rope_.cos_sin(stack.positions(), h.scalar_type());
  if (local_rope_) std::tie(local.cos, local.sin) = local_rope_->cos_sin(stack.positions(), h.scalar_type());
  auto positions_of = [this, global, local, none](int64_t i) -> LayerPositions {
    const auto at = static_cast<size_t>(i);
    if (!spec_.nope_layers.empty() && spec_.nope_layers[at]) return none;
    return local_rope_ && spec_.sliding_window[at] ? local : global;
  };
  DecoderLayers layers;
  layers.count = spec_.num_layers;
  layers.forward = [this, positions_of](int64_t i, const at::Tensor& x, const LayerCall& call) {
    return (*body_->layers)[static_cast<size_t>(i)].forward(x, positions_of(i), call.mask, call.kv, call.router,
                                                            call.side_input);
  };
  if (spec_.per_layer_input_size > 0) {
    auto per_layer = body_->per_layer_inputs(spec_, inputs.input_ids, h);
    layers.side_input = [per_layer](int64_t i) { return per_layer.select(2, i); };
  }
  if (!spec_.kv_source.empty()) layers.kv_source = [this](int64_t i) { return spec_.kv_source[static_cast<size_t>(i)]; };
  layers.window = [this](int64_t i) { return spec_.sliding_window[static_cast<size_t>(i)]; };
  if (!spec_.attention_chunk.empty())
    layers.chunk = [this](int64_t i) { return spec_.attention_chunk[static_cast<size_t>(i)]; };
  if (spec_.moe)
    layers.router_name = [this](int64_t i) {
      if (!is_moe_layer(i)) return std::string();
      return fmt::format("{}.{}.{}.{}", layer_prefix(), i, spec_.names.mlp, spec_.moe->router_name);
    };
  layers.final_norm = [this](const at::Tensor& x) { return body_->norm->forward(x); };
  return stack.run(*this, h, layers);
}

}  // namespace automodel::models
