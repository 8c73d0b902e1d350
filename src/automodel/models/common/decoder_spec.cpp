#include "automodel/models/common/decoder_spec.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/hf/model_config.h"

namespace automodel::models {

namespace {
// v5's {"full_attention": {...}, "sliding_attention": {...}} form of rope_parameters.
bool per_layer_type_ropes(const hf::JsonFields& c) {
  if (!c.has("rope_parameters")) return false;
  auto params = c.child("rope_parameters");
  return params.has("full_attention") || params.has("sliding_attention");
}
}  // namespace

// Every size is range-checked before it is used: a bad config.json fails here, naming the field,
// rather than as a huge allocation or a shape error deep in LibTorch.
DecoderSpec read_decoder_spec(const hf::JsonFields& c, const ConfigDefaults& d) {
  using namespace hf;  // the kMax* bounds
  DecoderSpec s;
  s.vocab_size = c.check_int("vocab_size", c.get_int("vocab_size"), 1, kMaxVocabSize);
  s.hidden_size = c.check_int("hidden_size", c.get_int("hidden_size"), 1, kMaxWidth);
  // Absent in all-MoE configs (Qwen3.5-MoE); DecoderLM requires it when a layer is dense.
  s.intermediate_size =
      c.has("intermediate_size") ? c.check_int("intermediate_size", c.get_int("intermediate_size"), 1, kMaxWidth) : 0;
  s.num_layers = c.check_int("num_hidden_layers", c.get_int("num_hidden_layers"), 1, kMaxLayers);
  s.num_heads = c.check_int("num_attention_heads", c.get_int("num_attention_heads"), 1, kMaxHeads);
  s.num_kv_heads = c.check_int("num_key_value_heads", c.get_int("num_key_value_heads", s.num_heads), 1, s.num_heads);
  c.check_divisible("num_attention_heads", s.num_heads, "num_key_value_heads", s.num_kv_heads);
  if (c.has("head_dim")) {
    s.head_dim = c.check_int("head_dim", c.get_int("head_dim"), 1, kMaxWidth);
  } else if (d.head_dim) {
    s.head_dim = *d.head_dim;
  } else {
    c.check_divisible("hidden_size", s.hidden_size, "num_attention_heads", s.num_heads);
    s.head_dim = s.hidden_size / s.num_heads;
  }
  s.norm.eps = c.check_positive(d.eps_key, c.get_double(d.eps_key, d.norm_eps));
  s.mlp.act = parse_activation(c.get_string(d.act_key, d.act), c.where(d.act_key));
  s.qkv_bias = s.o_bias = c.get_bool("attention_bias", false);
  s.mlp.bias = c.get_bool("mlp_bias", false);
  s.tie_word_embeddings = c.get_bool("tie_word_embeddings", d.tie_word_embeddings);
  if (!per_layer_type_ropes(c)) {
    s.rope = hf::parse_rope_config(c, s.head_dim, "", d.rope_theta);
    const bool names_partial =
        c.has("partial_rotary_factor") || (c.has("rope_parameters") && c.child("rope_parameters").has("partial_rotary_factor"));
    if (!names_partial && d.partial_rotary_factor != 1.0)
      s.rope.dim = static_cast<int64_t>(static_cast<double>(s.head_dim) * d.partial_rotary_factor);
  }
  s.sliding_window.assign(s.num_layers, std::nullopt);
  // HF's decoders build nn.Embedding(vocab, hidden, padding_idx=pad_token_id), which rejects ids
  // outside [-vocab, vocab) and counts negative ones from the end.
  auto pad = c.present("pad_token_id") ? c.get_optional_int("pad_token_id") : d.pad_token_id;
  if (pad) {
    c.check_int("pad_token_id", *pad, -s.vocab_size, s.vocab_size - 1);
    s.padding_idx = *pad < 0 ? *pad + s.vocab_size : *pad;
  }
  return s;
}

void read_per_layer_type_ropes(const hf::JsonFields& c, DecoderSpec& spec, double legacy_local_theta,
                               double default_theta) {
  if (per_layer_type_ropes(c)) {
    spec.rope = hf::parse_rope_config(c, spec.head_dim, "full_attention", default_theta);
    spec.local_rope = hf::parse_rope_config(c, spec.head_dim, "sliding_attention", default_theta);
    return;
  }
  spec.rope = hf::parse_rope_config(c, spec.head_dim, "", default_theta);
  hf::RopeConfig local;
  local.theta = legacy_local_theta;
  local.dim = spec.rope.dim;
  local.max_position_embeddings = spec.rope.max_position_embeddings;
  spec.local_rope = local;
}

std::optional<int64_t> read_sliding_window(const hf::JsonFields& c, std::optional<int64_t> fallback) {
  if (!c.present("sliding_window")) return fallback;
  if (!c.has("sliding_window")) return std::nullopt;
  return c.check_int("sliding_window", c.get_int("sliding_window"), 1, hf::kMaxPositions);
}

std::vector<std::string> read_layer_types(const hf::JsonFields& c, int64_t num_layers,
                                          const std::vector<std::string>& allowed,
                                          const std::function<std::string(int64_t)>& fallback) {
  std::vector<std::string> types;
  if (!c.has("layer_types")) {
    for (int64_t i = 0; i < num_layers; ++i) types.push_back(fallback(i));
    return types;
  }
  types = c.get_string_list("layer_types");
  AM_CHECK(static_cast<int64_t>(types.size()) == num_layers, "[config] {}: expected {} entries (num_hidden_layers), found {}",
           c.where("layer_types"), num_layers, types.size());
  for (size_t i = 0; i < types.size(); ++i)
    AM_CHECK(std::find(allowed.begin(), allowed.end(), types[i]) != allowed.end(),
             "[config] {}: entry {} is '{}', expected one of {}", c.where("layer_types"), i, types[i], join(allowed, ", "));
  return types;
}

std::string current_layer_type(const std::string& name) {
  if (name == "mamba") return "linear_attention";
  if (name == "attention") return "full_attention";
  return name;
}

std::function<std::string(int64_t)> every_nth_layer_full(int64_t n, const std::string& other) {
  return [n, other](int64_t i) { return (i + 1) % n != 0 ? other : std::string("full_attention"); };
}

void set_sliding_layers(DecoderSpec& spec, const std::vector<std::string>& layer_types, std::optional<int64_t> window) {
  for (size_t i = 0; i < layer_types.size(); ++i)
    spec.sliding_window[i] = layer_types[i] == "sliding_attention" ? window : std::nullopt;
}

std::vector<bool> read_layer_flags(const hf::JsonFields& c, const std::string& key, int64_t num_layers) {
  const auto& list = c.raw(key);
  AM_CHECK(list.is_array() && static_cast<int64_t>(list.size()) == num_layers,
           "[config] {}: expected a list of {} entries (num_hidden_layers), found {}", c.where(key), num_layers,
           list.dump());
  std::vector<bool> flags;
  for (const auto& v : list) {
    AM_CHECK(v.is_boolean() || (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1)),
             "[config] {}: expected entries 0/1 or true/false, found {}", c.where(key), v.dump());
    flags.push_back(v.is_boolean() ? v.get<bool>() : v.get<int64_t>() == 1);
  }
  return flags;
}

std::vector<bool> read_layer_indices(const hf::JsonFields& c, const std::string& key, int64_t num_layers) {
  std::vector<bool> out(static_cast<size_t>(num_layers), false);
  const auto& list = c.raw(key);
  AM_CHECK(list.is_array(), "[config] {}: expected a list of layer indices, found {}", c.where(key), list.dump());
  for (const auto& v : list) {
    AM_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < num_layers,
             "[config] {}: expected layer indices below num_hidden_layers ({}), found {}", c.where(key), num_layers,
             v.dump());
    out[v.get<size_t>()] = true;
  }
  return out;
}

double read_softcap(const hf::JsonFields& c, const std::string& key, std::optional<double> fallback) {
  if (!c.present(key)) return fallback.value_or(0.0);
  return c.has(key) ? c.check_positive(key, c.get_double(key)) : 0.0;
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

}  // namespace automodel::models
