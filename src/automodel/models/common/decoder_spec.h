// What a pre-norm-family decoder is made of, as read from an architecture's config.json: the
// building blocks (norm kind and placement, q/k norms, rope variants per layer, sliding windows,
// MLP kind, MoE, scalar multipliers and softcaps) and the checkpoint names they live under.
// Each architecture (models/<arch>/) fills one DecoderSpec; DecoderLM composes it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "automodel/hf/json_fields.h"
#include "automodel/hf/rope_config.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/common/mlp.h"
#include "automodel/models/common/moe.h"

namespace automodel::models {

class AttentionLayer;
struct DecoderSpec;
// Builds an architecture's own attention (models/common/decoder_layer.h) for decoder layer
// `layer`, or returns null for the standard one there.
using AttentionFactory =
    std::function<std::unique_ptr<AttentionLayer>(const DecoderSpec&, int64_t layer, const at::TensorOptions&)>;

// Builds an architecture's own feed-forward block for decoder layer `layer`, registered inline in
// the layer (its modules are named as the layer's own: Gemma 4's mlp, router, experts and their
// norms), or returns null for the standard one. Without an mlp_in norm it sees the residual stream.
using FeedForwardFactory =
    std::function<std::unique_ptr<Mlp>(const DecoderSpec&, int64_t layer, const at::TensorOptions&)>;

// HF's names of a decoder's modules. A layer's four norm slots: before attention, on attention's
// output, before the MLP, on the MLP's output; an empty name means that norm is absent. Pre-norm
// (Llama) uses the 1st and 3rd, sandwich (Gemma-2, GLM-4) all four, post-norm (OLMo-2) the 2nd
// and 4th, parallel residual (Cohere, Phi) the 1st (and the 3rd when the MLP has its own).
struct DecoderNames {
  std::string body = "model", embed = "embed_tokens", layers = "layers", final_norm = "norm", lm_head = "lm_head";
  std::string attention = "self_attn", q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj";
  std::string qkv;  // one fused [q | k | v] projection (Phi-3's qkv_proj); empty: separate ones
  bool output_first = false;  // o_proj registered before q/k/v, as HF's Phi-3 does (LoRA init order)
  bool feed_forward_first = false;  // the MLP/MoE registered before the attention (Granite 4 hybrids)
  std::string q_norm = "q_norm", k_norm = "k_norm";
  std::string mlp = "mlp";
  std::string attn_in_norm = "input_layernorm", attn_out_norm, mlp_in_norm = "post_attention_layernorm", mlp_out_norm;
};

enum class QkvLayout {
  kConcat,   // [q | k | v]
  // per kv head [its H/KV query heads | k | v]: GPT-NeoX's query_key_value (one query head per
  // group), Falcon-40B/180B's (new_decoder_architecture)
  kPerKvGroup,
};

enum class QkNorm {
  kNone,
  kPerHead,    // over head_dim, weight (head_dim,) shared by the heads (Qwen3, Gemma-3)
  kFullWidth,  // over the whole projection before the head split (OLMo-2)
  // RMS-normalised over head_dim without a weight, after rope and on rope layers only (Llama 4's
  // use_qk_norm, its "L2Norm")
  kUnweightedAfterRope,
};

// A query temperature growing with position: q x (1 + scale * log(1 + floor((p + offset) /
// floor_scale))) at position p (its position id: cached tokens included, per packed document).
// Llama 4 (offset 1) on its NoPE layers only; Ministral 3 (llama_4_scaling_beta, offset 0) on all.
struct QueryTemperature {
  double floor_scale = 8192, scale = 0.1;
  double offset = 1;
  bool nope_layers_only = true;
};

struct DecoderSpec {
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_layers = 0;
  int64_t num_heads = 0, num_kv_heads = 0, head_dim = 0;
  NormSpec norm;
  MlpSpec mlp;
  DecoderNames names;
  bool qkv_bias = false, o_bias = false;
  QkNorm qk_norm = QkNorm::kNone;
  bool qk_norm_after_rope = false;     // HunYuan normalises the rotated q and k
  QkvLayout qkv_layout = QkvLayout::kConcat;  // of a fused qkv projection
  bool parallel_residual = false;      // h = x + attn(n1(x)) + mlp(n3(x) or n1(x))
  double embedding_scale = 0;          // embeddings x this, 0 = none
  bool embedding_scale_in_dtype = false;  // Gemma: the scale is first rounded to the model dtype
  double residual_scale = 1.0;         // Granite's residual_multiplier on each branch
  bool layer_scalar = false;           // Gemma 4: each layer's output x its "layer_scalar" buffer (1)
  double attention_scale = 0;          // default head_dim^-0.5
  double attention_softcap = 0;        // Gemma-2: scores = cap * tanh(scores / cap); 0 = none
  bool attention_sinks = false;        // gpt-oss: a learned extra softmax logit per head ("sinks")
  std::optional<double> clip_qkv;      // OLMo: clamp q, k, v to [-clip, clip]
  double logit_scale = 1.0;            // logits x this (Cohere), 1 / logits_scaling (Granite)
  bool lm_head_bias = false;           // Phi
  double final_softcap = 0;            // Gemma-2's final_logit_softcapping; 0 = none
  bool tie_word_embeddings = false;
  std::optional<int64_t> padding_idx;  // the embedding row that gets no gradient (pad_token_id)
  // Positions: `rope` for every layer, `local_rope` instead on sliding-window layers when set
  // (Gemma-3), none on NoPE layers; rotate_half on halves, or on adjacent pairs when interleaved.
  hf::RopeConfig rope;
  std::optional<hf::RopeConfig> local_rope;
  std::vector<bool> nope_layers;                       // per layer; empty = rope everywhere
  bool rope_interleaved = false;
  std::vector<std::optional<int64_t>> sliding_window;  // per layer; nullopt = full attention
  std::vector<std::optional<int64_t>> attention_chunk; // per layer (Llama 4); empty = none
  std::optional<QueryTemperature> query_temperature;
  AttentionFactory make_attention;                     // empty: DecoderAttention from the fields above
  std::vector<std::string> attention_names;            // per layer (Qwen3-Next's "linear_attn"); empty = names.attention
  bool attention_output_gate = false;  // Qwen3-Next: q_proj also yields a per-head gate, out *= sigmoid(gate)
  FeedForwardFactory make_feed_forward;                // empty: an MLP from `mlp` (or the MoE below)
  std::vector<int64_t> intermediate_sizes;             // per layer; empty = intermediate_size on every layer
  // Hybrids with one mixer per layer (Nemotron-H): per layer, whether it has the attention (or
  // what replaces it) and whether it has the feed-forward (MLP or MoE); empty = both everywhere.
  std::vector<bool> attention_layers, feed_forward_layers;
  std::optional<MoeOptions> moe;                       // replaces the MLP ...
  std::string moe_dense_mlp;  // a dense MLP (from `mlp`) beside each MoE, named so in the layer, added (Granite 4)
  std::vector<bool> moe_layers;                        // ... on these layers; empty = every layer
  // Per-layer inputs (Gemma 3n/4 E2B/E4B): a second embedding table (per_layer_input_vocab rows,
  // num_layers x per_layer_input_size columns) plus a projection of the embeddings give each
  // layer a small input of its own, which the layer gates by its hidden state and adds back after
  // its feed-forward. 0 = none.
  int64_t per_layer_input_size = 0, per_layer_input_vocab = 0;
  // KV sharing (Gemma 3n/4): per layer, the earlier layer whose keys/values it attends with
  // (its attention must implement KVCache::Layer::shared); empty or nullopt = its own.
  std::vector<std::optional<int64_t>> kv_source;
  // Checkpoint tensors that are buffers, not parameters, skipped when loading.
  std::vector<std::string> ignored_checkpoint_suffixes{".rotary_emb.inv_freq"};
  std::vector<std::string> skipped_checkpoint_prefixes;  // see CausalLM::skipped_checkpoint_prefixes
};

// An architecture's defaults for what its config.json may leave out (its HF config class's).
struct ConfigDefaults {
  std::optional<int64_t> head_dim;  // nullopt: hidden_size / num_attention_heads
  double rope_theta = 10000.0;
  double partial_rotary_factor = 1.0;
  std::string eps_key = "rms_norm_eps";
  double norm_eps = 1e-6;
  std::string act_key = "hidden_act", act = "silu";
  bool tie_word_embeddings = false;
  std::optional<int64_t> pad_token_id;
};

// Reads the fields Llama-family configs share (sizes, eps, activation, rope, tying, biases).
DecoderSpec read_decoder_spec(const hf::JsonFields& config, const ConfigDefaults& defaults = {});
// Gemma-3/OLMo-3 style: full-attention layers use `rope`, sliding ones `local_rope`, from v5's
// per-layer-type `rope_parameters`, or from the legacy keys (`rope_scaling` only on full
// layers; `legacy_local_theta` on sliding ones).
void read_per_layer_type_ropes(const hf::JsonFields& config, DecoderSpec& spec, double legacy_local_theta,
                               double default_theta);
// `sliding_window` (>= 1) when set and not null; `fallback` when the config has no such key.
std::optional<int64_t> read_sliding_window(const hf::JsonFields& config, std::optional<int64_t> fallback = std::nullopt);
// Per-layer attention types: the config's `layer_types` (each checked against `allowed`), or
// `fallback(i)` for layer i when the config has none.
std::vector<std::string> read_layer_types(const hf::JsonFields& config, int64_t num_layers,
                                          const std::vector<std::string>& allowed,
                                          const std::function<std::string(int64_t)>& fallback);
// HF's legacy layer type names, as newer configs spell them: "mamba" -> "linear_attention",
// "attention" -> "full_attention"; any other name unchanged.
std::string current_layer_type(const std::string& name);
// The common default schedule: every n-th layer `full_attention`, the others `other`
// ("sliding_attention", or "linear_attention" for Qwen3-Next).
std::function<std::string(int64_t)> every_nth_layer_full(int64_t n, const std::string& other = "sliding_attention");
// Sliding layers ("sliding_attention") get `window`, the others full attention.
void set_sliding_layers(DecoderSpec& spec, const std::vector<std::string>& layer_types, std::optional<int64_t> window);
// A list of layer indices (`moe_layers`, `full_attn_idxs`) as per-layer flags; each index checked.
std::vector<bool> read_layer_indices(const hf::JsonFields& config, const std::string& key, int64_t num_layers);
// A per-layer bool list (`no_rope_layers` style: 1/0 or true/false) of num_layers entries.
std::vector<bool> read_layer_flags(const hf::JsonFields& config, const std::string& key, int64_t num_layers);
// A softcap (Gemma's attn/final_logit_softcapping): `key` when set, 0 (none) when it is null,
// `fallback` (or none) when absent.
double read_softcap(const hf::JsonFields& config, const std::string& key, std::optional<double> fallback = std::nullopt);
// Config features these decoders do not implement: an error naming the first one set.
void reject_unsupported(const hf::JsonFields& config, const std::vector<std::string>& keys);

}  // namespace automodel::models
