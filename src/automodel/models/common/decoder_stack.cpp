#include "automodel/models/common/decoder_stack.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>

#include <map>

#include "automodel/common/error.h"

namespace automodel::models {

DecoderStack::DecoderStack(const ModelInputs& inputs, const ForwardOptions& options, int64_t num_layers)
    : cache_(options.cache), collect_(options.collect_hidden_states) {
  q_pos_ = inputs.position_ids.defined() ? inputs.position_ids : default_position_ids(inputs.input_ids, cache_);
  k_pos_ = q_pos_;
  q_doc_ = k_doc_ = inputs.document_ids;
  AM_CHECK(!inputs.attention_groups.defined() || !cache_ || cache_->length() == 0,
           "attention groups are only for a forward with nothing cached");
  groups_ = inputs.attention_groups;
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
  auto m = attention_mask(q_pos_, k_pos_, q_doc_, k_doc_, window, chunk);
  if (groups_.defined()) {  // (B, 1, T, T): also every pair within a group ...
    auto in_group = (groups_.unsqueeze(2) == groups_.unsqueeze(1)) & (groups_ > 0).unsqueeze(2);
    // ... whose key is not behind the sliding window (HF keeps the window's lower bound: a query
    // sees later tokens of its group, earlier ones only within the window)
    if (window) in_group = in_group & (k_pos_.unsqueeze(1) > q_pos_.unsqueeze(2) - *window);
    m = m | in_group.unsqueeze(1);
  }
  masks_.push_back({window, chunk, m});
  return masks_.back().mask;
}

ForwardOutput DecoderStack::run(const CausalLM& model, at::Tensor h, const DecoderLayers& layers) {
  ForwardOutput out;
  if (collect_) out.hidden_states.push_back(h);
  auto source_of = [&layers](int64_t i) { return layers.kv_source ? layers.kv_source(i) : std::nullopt; };
  std::vector<bool> publishes(static_cast<size_t>(layers.count), false);  // its keys/values are read later
  for (int64_t i = 0; i < layers.count; ++i)
    if (auto source = source_of(i)) {
      AM_CHECK(*source >= 0 && *source < i, "internal: layer {} reads the keys/values of layer {}", i, *source);
      publishes[static_cast<size_t>(*source)] = true;
    }
  std::map<int64_t, KVCache::Layer> published;  // training: the keys/values of source layers
  for (int64_t i = 0; i < layers.count; ++i) {
    const bool routed = layers.router_name && !layers.router_name(i).empty();
    const auto& m = mask(layers.window ? layers.window(i) : std::nullopt, layers.chunk ? layers.chunk(i) : std::nullopt);
    const auto side = layers.side_input ? layers.side_input(i) : at::Tensor();
    const auto source = source_of(i);
    at::Tensor router;
    if (cache_) {
      KVCache::Layer* kv = &cache_->layers[static_cast<size_t>(i)];
      KVCache::Layer borrowed;  // the source's entry holds its keys of every token so far
      if (source) {
        borrowed = cache_->layers[static_cast<size_t>(*source)];
        borrowed.shared = true;
        kv = &borrowed;
      }
      h = layers.forward(i, h, {m, kv, routed ? &router : nullptr, side});
    } else {
      // The layer as a function of its inputs, so FSDP and activation checkpointing can wrap it.
      // Captured by value: recomputation in backward calls it after this forward has returned.
      const bool publish = publishes[static_cast<size_t>(i)];
      auto block = [forward = layers.forward, i, m, routed, publish, has_side = side.defined(),
                    shares = source.has_value()](const std::vector<at::Tensor>& in) {
        size_t next = 1;
        LayerCall call{m};
        if (has_side) call.side_input = in[next++];
        KVCache::Layer kv;
        if (shares) kv.k = in[next], kv.v = in[next + 1], kv.shared = true;
        if (shares || publish) call.kv = &kv;
        at::Tensor logits;
        if (routed) call.router = &logits;
        std::vector<at::Tensor> outputs{forward(i, in[0], call)};
        if (routed) outputs.push_back(logits);
        if (publish) outputs.insert(outputs.end(), {kv.k, kv.v});
        return outputs;
      };
      std::vector<at::Tensor> inputs{h};
      if (side.defined()) inputs.push_back(side);
      if (source) inputs.insert(inputs.end(), {published.at(*source).k, published.at(*source).v});
      auto outputs = model.run_layer(i, block, inputs);
      h = outputs[0];
      if (routed) router = outputs[1];
      if (publish) published[i] = {outputs[outputs.size() - 2], outputs.back()};
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
