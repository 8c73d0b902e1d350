#include "automodel/hf/rope_config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/hf/model_config.h"

namespace automodel::hf {

std::vector<std::string> supported_rope_types() {
  return {"default", "linear", "dynamic", "llama3", "yarn", "longrope", "proportional"};
}

RopeConfig parse_rope_config(const JsonFields& config, int64_t head_dim, const std::string& layer_type,
                             double default_theta) {
  RopeConfig rope;
  rope.max_position_embeddings =
      config.check_int("max_position_embeddings", config.get_int("max_position_embeddings", 2048), 1, kMaxPositions);
  double partial = config.get_double("partial_rotary_factor", 1.0);
  const JsonFields* partial_from = &config;
  std::optional<JsonFields> params;
  if (config.has("rope_parameters")) {
    params = config.child("rope_parameters");
    rope.v5_semantics = true;
    // v5 per-layer-type dicts ({"full_attention": {...}, "sliding_attention": {...}}).
    if (params->has("full_attention") || params->has("sliding_attention")) {
      AM_CHECK(!layer_type.empty(), "[config] {}: per-layer-type rope parameters are not supported by this architecture",
               config.where("rope_parameters"));
      AM_CHECK(params->has(layer_type), "[config] {}: expected an entry for layer type '{}'",
               config.where("rope_parameters"), layer_type);
      params = params->child(layer_type);
    }
    rope.theta = params->has("rope_theta") ? params->check_positive("rope_theta", params->get_double("rope_theta"))
                                           : config.check_positive("rope_theta", config.get_double("rope_theta", default_theta));
    if (params->has("partial_rotary_factor")) {
      partial = params->get_double("partial_rotary_factor");
      partial_from = &*params;
    }
  } else {
    rope.theta = config.check_positive("rope_theta", config.get_double("rope_theta", default_theta));
    if (config.has("rope_scaling")) params = config.child("rope_scaling");
  }
  AM_CHECK(partial > 0 && partial <= 1, "[config] {}: expected a number in (0, 1], found {}",
           partial_from->where("partial_rotary_factor"), partial);
  rope.dim = static_cast<int64_t>(static_cast<double>(head_dim) * partial);
  AM_CHECK(rope.dim > 0 && rope.dim % 2 == 0, "[config] {}: rotary dim {} (head_dim {} x partial_rotary_factor {}) must be even and > 0",
           config.label(), rope.dim, head_dim, partial);
  if (config.has("original_max_position_embeddings"))
    rope.original_max_position_embeddings = config.check_int(
        "original_max_position_embeddings", config.get_int("original_max_position_embeddings"), 1, kMaxPositions);
  if (!params) return rope;

  std::string key = params->has("rope_type") ? "rope_type" : "type";
  rope.type = params->get_string(key, "default");
  if (rope.type == "su") rope.type = "longrope";  // Phi-3's first checkpoints' name for it
  if (rope.type == "mrope") rope.type = "default";  // Qwen2-VL's v4 name: default frequencies over 3 axes
  if (params->has("mrope_section")) {
    int64_t pairs = 0;
    for (double v : params->get_double_list("mrope_section")) {
      AM_CHECK(v >= 0 && v == std::floor(v), "[config] {}: expected non-negative integers", params->where("mrope_section"));
      rope.mrope_section.push_back(static_cast<int64_t>(v));
      pairs += rope.mrope_section.back();
    }
    AM_CHECK(rope.mrope_section.size() == 3 && 2 * pairs == rope.dim,
             "[config] {}: expected 3 sections summing to half the rotary dim ({}), found {}",
             params->where("mrope_section"), rope.dim / 2, params->raw("mrope_section").dump());
  }
  auto types = supported_rope_types();
  if (std::find(types.begin(), types.end(), rope.type) == types.end()) {
    throw NotSupportedError(fmt::format("[config] {}: rope type '{}' is not supported; supported: {}",
                                        params->where(key), rope.type, join(types, ", ")));
  }
  // Scaling parameters divide or take logs: zero, negative or non-finite values give garbage.
  auto positive = [&](const char* key) -> std::optional<double> {
    if (!params->has(key)) return std::nullopt;
    return params->check_positive(key, params->get_double(key));
  };
  rope.factor = positive("factor");
  rope.attention_factor = positive("attention_factor");
  if (rope.type == "proportional") {  // the partial factor picks pairs over the whole head
    rope.proportion = partial;
    rope.dim = head_dim;
  }
  if (params->has("original_max_position_embeddings"))
    rope.original_max_position_embeddings = params->check_int(
        "original_max_position_embeddings", params->get_int("original_max_position_embeddings"), 1, kMaxPositions);
  rope.low_freq_factor = positive("low_freq_factor").value_or(1.0);
  rope.high_freq_factor = positive("high_freq_factor").value_or(4.0);
  // HF reads 0 as "unset" for these ("or 32"; mscale 0 disables it).
  auto non_negative = [&](const char* key) -> std::optional<double> {
    if (!params->has(key)) return std::nullopt;
    double v = params->get_double(key);
    AM_CHECK(std::isfinite(v) && v >= 0, "[config] {}: expected a finite number >= 0, found {}", params->where(key), v);
    return v;
  };
  rope.beta_fast = positive("beta_fast");
  rope.beta_slow = positive("beta_slow");
  rope.mscale = non_negative("mscale");
  rope.mscale_all_dim = non_negative("mscale_all_dim");
  rope.truncate = params->get_bool("truncate", true);
  if (rope.type == "longrope") {
    rope.long_factor = params->get_double_list("long_factor");
    rope.short_factor = params->get_double_list("short_factor");
    for (auto* list : {&rope.long_factor, &rope.short_factor})
      AM_CHECK(static_cast<int64_t>(list->size()) == rope.dim / 2,
               "[config] {}: longrope factors need {} entries (rotary dim / 2), found {}",
               params->where(list == &rope.long_factor ? "long_factor" : "short_factor"), rope.dim / 2, list->size());
    for (auto* list : {&rope.long_factor, &rope.short_factor})
      for (double f : *list)
        params->check_positive(list == &rope.long_factor ? "long_factor" : "short_factor", f);
  }
  if (rope.type == "linear" || rope.type == "dynamic" || rope.type == "llama3")
    AM_CHECK(rope.factor.has_value(), "[config] {} is required for rope type '{}'", params->where("factor"), rope.type);
  if (rope.type == "llama3") {
    AM_CHECK(rope.original_max_position_embeddings.has_value(), "[config] {} is required for rope type 'llama3'",
             params->where("original_max_position_embeddings"));
    // llama3 smooths between the two wavelengths: (x - low) / (high - low).
    AM_CHECK(rope.high_freq_factor > rope.low_freq_factor,
             "[config] {}: expected a number greater than low_freq_factor ({}), found {}",
             params->where("high_freq_factor"), rope.low_freq_factor, rope.high_freq_factor);
  }
  if (rope.type == "yarn" && !rope.v5_semantics)
    AM_CHECK(rope.factor.has_value(), "[config] {} is required for rope type 'yarn'", params->where("factor"));
  return rope;
}

}  // namespace automodel::hf
