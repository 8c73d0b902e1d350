#include "automodel/models/common/causal_lm.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/masked_scatter.h>
#include <ATen/ops/tanh.h>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace automodel::models {

at::Tensor OutputHead::finish(const at::Tensor& raw) const {
  auto out = scale == 1.0 ? raw : raw * scale;
  return softcap > 0 ? at::tanh(out / softcap) * softcap : out;
}

at::Tensor CausalLM::logits(const at::Tensor& hidden) const {
  const auto h = head();
  return h.finish(h.bias.defined() ? at::linear(hidden, h.weight, h.bias) : at::linear(hidden, h.weight));
}

std::vector<at::Tensor> CausalLM::run_layer(int64_t index, const Block& block,
                                            const std::vector<at::Tensor>& inputs) const {
  if (layer_runner_) return layer_runner_(index, block, inputs);
  if (activation_checkpointing_) return checkpointed(block, inputs);
  return block(inputs);
}

std::string CausalLM::foreign_part(const std::string& name) const {
  for (const auto& prefix : skipped_checkpoint_prefixes())
    if (name.starts_with(prefix)) return prefix;
  if (!config_.composite) return {};
  const auto& c = *config_.composite;
  if (name.starts_with(c.body + ".") || name.starts_with(c.lm_head + ".")) return {};
  // The sibling of the language model: "model.visual" beside "model.language_model" (v5), or
  // "vision_tower" beside "language_model" (v4).
  const auto shared = c.body.substr(0, c.body.find('.') + 1);
  const auto depth = name.starts_with(shared) ? name.find('.', shared.size()) : name.find('.');
  return name.substr(0, depth);
}

at::Tensor place_features(const ModelInputs& inputs, const at::Tensor& embeds) {
  if (!inputs.feature_positions.defined()) return embeds;
  const auto positions = inputs.feature_positions.to(at::kBool);
  AM_CHECK(positions.sizes() == inputs.input_ids.sizes(), "feature positions {} do not match input_ids {}",
           format_shape(positions.sizes().vec()), format_shape(inputs.input_ids.sizes().vec()));
  const int64_t slots = positions.sum().item<int64_t>();
  AM_CHECK(inputs.features.dim() == 2 && inputs.features.size(0) == slots && inputs.features.size(1) == embeds.size(-1),
           "image features and image tokens do not match: {} image tokens in input_ids take ({}, {}) features, found {}",
           slots, slots, embeds.size(-1), format_shape(inputs.features.sizes().vec()));
  return embeds.masked_scatter(positions.unsqueeze(-1).expand_as(embeds), inputs.features.to(embeds.scalar_type()));
}

at::Tensor default_position_ids(const at::Tensor& input_ids, const KVCache* cache) {
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  auto pos = at::arange(T, input_ids.options().dtype(at::kLong)).unsqueeze(0).expand({B, T});
  if (cache && cache->length() > 0) pos = pos + (cache->positions.select(1, cache->length() - 1).unsqueeze(1) + 1);
  return pos.contiguous();
}

}  // namespace automodel::models
