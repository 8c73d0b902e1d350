// Rotary position embedding parameters from config.json: v4 (`rope_theta` + `rope_scaling`) and
// v5 (`rope_parameters`). Types: default, linear, dynamic, llama3, yarn, longrope, proportional.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "automodel/hf/json_fields.h"

namespace automodel::hf {

struct RopeConfig {
  std::string type = "default";
  double theta = 10000.0;
  int64_t dim = 0;  // rotary dims = head_dim * partial_rotary_factor
  int64_t max_position_embeddings = 0;
  bool v5_semantics = false;  // read from `rope_parameters` (transformers v5 formulas)

  std::optional<double> factor;
  std::optional<double> attention_factor;
  std::optional<int64_t> original_max_position_embeddings;
  // llama3
  double low_freq_factor = 1.0, high_freq_factor = 4.0;
  // yarn
  std::optional<double> beta_fast, beta_slow, mscale, mscale_all_dim;
  bool truncate = true;
  // longrope
  std::vector<double> long_factor, short_factor;
  // proportional (Gemma 4): `dim` is the whole head; only this fraction of its frequency pairs
  // turns (the exponent still over the whole head), the rest stay unrotated
  double proportion = 1.0;
  // M-RoPE (Qwen2-VL): rotary pairs per position axis (temporal, height, width); empty = none.
  std::vector<int64_t> mrope_section;
};

std::vector<std::string> supported_rope_types();
// `head_dim` is the attention head size; partial_rotary_factor is read from the config.
// `layer_type` ("full_attention", "sliding_attention"): the entry of v5's per-layer-type
// `rope_parameters` to read; those dicts are an error without it. `default_theta`: the
// architecture's theta when the config names none.
RopeConfig parse_rope_config(const JsonFields& config, int64_t head_dim, const std::string& layer_type = "",
                             double default_theta = 10000.0);

}  // namespace automodel::hf
