#include "automodel/models/common/decoder_stack.h"

#include <ATen/ops/cat.h>

namespace automodel::models {

DecoderStack::DecoderStack(const ModelInputs& inputs, const ForwardOptions& options, int64_t num_layers)
    : cache_(options.cache), collect_(options.collect_hidden_states) {
  q_pos_ = inputs.position_ids.defined() ? inputs.position_ids : default_position_ids(inputs.input_ids, cache_);
  k_pos_ = q_pos_;
  q_doc_ = k_doc_ = inputs.document_ids;
  if (!cache_) return;
  if (cache_->layers.empty()) cache_->layers.resize(static_cast<size_t>(num_layers));
  if (cache_->length() > 0) {
    k_pos_ = at::cat({cache_->positions, q_pos_}, 1);
    if (q_doc_.defined()) k_doc_ = at::cat({cache_->documents, q_doc_}, 1);
  }
  cache_->positions = k_pos_;
  cache_->documents = k_doc_;
}

const at::Tensor& DecoderStack::mask(std::optional<int64_t> window, std::optional<int64_t> chunk) {
  for (const auto& m : masks_)
    if (m.window == window && m.chunk == chunk) return m.mask;
  masks_.push_back({window, chunk, attention_mask(q_pos_, k_pos_, q_doc_, k_doc_, window, chunk)});
  return masks_.back().mask;
}

ForwardOutput DecoderStack::run(const CausalLM& model, at::Tensor h, const DecoderLayers& layers) {
  ForwardOutput out;
  if (collect_) out.hidden_states.push_back(h);
  for (int64_t i = 0; i < layers.count; ++i) {
    const bool routed = layers.router_name && !layers.router_name(i).empty();
    const auto& m = mask(layers.window ? layers.window(i) : std::nullopt, layers.chunk ? layers.chunk(i) : std::nullopt);
    at::Tensor router;
    if (cache_) {
      h = layers.forward(i, h, m, &cache_->layers[static_cast<size_t>(i)], routed ? &router : nullptr);
    } else {
      // The layer as a function of its input, so FSDP and activation checkpointing can wrap it.
      // Captured by value: recomputation in backward calls it after this forward has returned.
      auto block = [forward = layers.forward, i, m, routed](const at::Tensor& x) {
        at::Tensor logits;
        auto y = forward(i, x, m, nullptr, routed ? &logits : nullptr);
        return routed ? std::vector<at::Tensor>{y, logits} : std::vector<at::Tensor>{y};
      };
      auto outputs = model.run_layer(i, block, h);
      h = outputs[0];
      if (routed) router = outputs[1];
    }
    if (router.defined()) out.router_logits.emplace_back(layers.router_name(i), router);
    if (collect_) {
      out.layer_outputs.push_back(h);
      if (i + 1 < layers.count) out.hidden_states.push_back(h);
    }
  }
  out.hidden = layers.final_norm(h);
  if (collect_) out.hidden_states.push_back(out.hidden);
  return out;
}

}  // namespace automodel::models
