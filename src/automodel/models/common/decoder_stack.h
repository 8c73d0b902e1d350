// The scaffold every decoder forward shares, written once: positions (given, or continuing a KV
// cache), the cache's key positions and documents, one attention mask per window size, the
// layer loop (through CausalLM::run_layer, where FSDP and activation checkpointing hook in, or
// directly when filling a cache) and the hidden-state taps of HF's output_hidden_states. An
// architecture supplies its embeddings, its layer and its final norm.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "automodel/models/common/attention.h"
#include "automodel/models/common/causal_lm.h"

namespace automodel::models {

// What the stack hands decoder layer i besides its input.
struct LayerCall {
  const at::Tensor& mask;
  // The layer's keys/values: its cache entry when filling a cache; with KV sharing, another
  // layer's (KVCache::Layer::shared) or an empty one that receives the layer's own for later
  // layers; else null.
  KVCache::Layer* kv = nullptr;
  at::Tensor* router = nullptr;  // when non-null, receives the MoE router logits
  at::Tensor side_input;         // the model's input for this layer alone (Gemma's per-layer embeddings)
};

// One decoder layer as the stack calls it: x (B, T, H) -> (B, T, H).
using DecoderLayerFn = std::function<at::Tensor(int64_t index, const at::Tensor& x, const LayerCall& call)>;

struct DecoderLayers {
  int64_t count = 0;
  DecoderLayerFn forward;
  // Layer i's sliding window (nullopt: full causal attention); null = every layer full.
  std::function<std::optional<int64_t>(int64_t)> window;
  // Layer i's attention chunk (Llama 4; nullopt: none); null = no layer chunked.
  std::function<std::optional<int64_t>(int64_t)> chunk;
  // MoE: the module name layer i's router logits are reported under; null or "" = no router.
  std::function<std::string(int64_t)> router_name;
  // Layer i's own input from the model (LayerCall::side_input); null or undefined = none.
  std::function<at::Tensor(int64_t)> side_input;
  // KV sharing (Gemma 3n/4): the earlier layer whose keys/values layer i attends with instead of
  // computing its own; null or nullopt = its own.
  std::function<std::optional<int64_t>(int64_t)> kv_source;
  // hidden (B, T, H) after the last layer -> after the final norm.
  std::function<at::Tensor(const at::Tensor&)> final_norm;
};

class DecoderStack {
 public:
  // Resolves the positions and appends this forward's positions/documents to the cache.
  DecoderStack(const ModelInputs& inputs, const ForwardOptions& options, int64_t num_layers);
  // (B, T) the queries' positions (for embeddings and rope).
  const at::Tensor& positions() const { return q_pos_; }
  // The bool mask for `window` and `chunk`, built once per distinct pair.
  const at::Tensor& mask(std::optional<int64_t> window, std::optional<int64_t> chunk = std::nullopt);
  // h: (B, T, H) embeddings -> the forward's outputs (hidden after the final norm, taps).
  ForwardOutput run(const CausalLM& model, at::Tensor h, const DecoderLayers& layers);

 private:
  KVCache* cache_;
  bool collect_;
  at::Tensor q_pos_, k_pos_, q_doc_, k_doc_;
  at::Tensor groups_;  // ModelInputs::attention_groups
  struct Mask {
    std::optional<int64_t> window, chunk;
    at::Tensor mask;
  };
  std::vector<Mask> masks_;
};

}  // namespace automodel::models
