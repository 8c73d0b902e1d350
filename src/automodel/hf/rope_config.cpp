#include "automodel/hf/rope_config.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace automodel::hf {

std::vector<std::string> supported_rope_types() {
  return {"default", "linear", "dynamic", "llama3", "yarn", "longrope"};
}

RopeConfig parse_rope_config(const JsonFields& config, int64_t head_dim) {
  RopeConfig rope;
  rope.max_position_embeddings = config.get_int("max_position_embeddings", 2048);
  double partial = config.get_double("partial_rotary_factor", 1.0);
  std::optional<JsonFields> params;
  if (config.has("rope_parameters")) {
    params = config.child("rope_parameters");
    rope.v5_semantics = true;
    // v5 per-layer-type dicts ({"full_attention": {...}, ...}) are not used by these architectures.
    AM_CHECK(!params->has("full_attention"), "[config] {}: per-layer-type rope parameters are not supported",
             config.where("rope_parameters"));
    rope.theta = params->get_double("rope_theta", config.get_double("rope_theta", 10000.0));
    partial = params->get_double("partial_rotary_factor", partial);
  } else {
    rope.theta = config.get_double("rope_theta", 10000.0);
    if (config.has("rope_scaling")) params = config.child("rope_scaling");
  }
  rope.dim = static_cast<int64_t>(static_cast<double>(head_dim) * partial);
  AM_CHECK(rope.dim > 0 && rope.dim % 2 == 0, "[config] {}: rotary dim {} (head_dim {} x partial_rotary_factor {}) must be even and > 0",
           config.label(), rope.dim, head_dim, partial);
  if (config.has("original_max_position_embeddings"))
    rope.original_max_position_embeddings = config.get_int("original_max_position_embeddings");
  if (!params) return rope;

  std::string key = params->has("rope_type") ? "rope_type" : "type";
  rope.type = params->get_string(key, "default");
  auto types = supported_rope_types();
  if (std::find(types.begin(), types.end(), rope.type) == types.end()) {
    throw NotSupportedError(fmt::format("[config] {}: rope type '{}' is not supported; supported: {}",
                                        params->where(key), rope.type, join(types, ", ")));
  }
  rope.factor = params->get_optional_double("factor");
  rope.attention_factor = params->get_optional_double("attention_factor");
  if (params->has("original_max_position_embeddings"))
    rope.original_max_position_embeddings = params->get_int("original_max_position_embeddings");
  rope.low_freq_factor = params->get_double("low_freq_factor", 1.0);
  rope.high_freq_factor = params->get_double("high_freq_factor", 4.0);
  rope.beta_fast = params->get_optional_double("beta_fast");
  rope.beta_slow = params->get_optional_double("beta_slow");
  rope.mscale = params->get_optional_double("mscale");
  rope.mscale_all_dim = params->get_optional_double("mscale_all_dim");
  rope.truncate = params->get_bool("truncate", true);
  if (rope.type == "longrope") {
    rope.long_factor = params->get_double_list("long_factor");
    rope.short_factor = params->get_double_list("short_factor");
    for (auto* list : {&rope.long_factor, &rope.short_factor})
      AM_CHECK(static_cast<int64_t>(list->size()) == rope.dim / 2,
               "[config] {}: longrope factors need {} entries (rotary dim / 2), found {}",
               params->where(list == &rope.long_factor ? "long_factor" : "short_factor"), rope.dim / 2, list->size());
  }
  if (rope.type == "linear" || rope.type == "dynamic" || rope.type == "llama3")
    AM_CHECK(rope.factor.has_value(), "[config] {} is required for rope type '{}'", params->where("factor"), rope.type);
  if (rope.type == "llama3")
    AM_CHECK(rope.original_max_position_embeddings.has_value(), "[config] {} is required for rope type 'llama3'",
             params->where("original_max_position_embeddings"));
  if (rope.type == "yarn" && !rope.v5_semantics)
    AM_CHECK(rope.factor.has_value(), "[config] {} is required for rope type 'yarn'", params->where("factor"));
  return rope;
}

}  // namespace automodel::hf
