// A vision tower against transformers' outputs in a folder (config.json, model.safetensors,
// expected.safetensors as tests/oracles/hf_vision_towers.py and the 4.57 fixtures write them):
// last_hidden_state, pooler_output and every hidden state within 1e-5, and the gradients of the
// surrogate loss sum(last_hidden_state * w1) + sum(pooler_output * w2) within 1e-4 (relative to
// the largest expected value); a gradient zero in exact arithmetic as debug_forward_parity.h says.
#pragma once

#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/abs.h>

#include <algorithm>
#include <filesystem>
#include <utility>
#include <vector>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/vision/vision_tower.h"
#include "parity/debug_forward_parity.h"

namespace automodel::testing {

inline at::Tensor expected_tensor(const hf::SafetensorsCheckpoint& file, const std::string& name) {
  auto view = file.get(name);
  auto t = at::empty(view.entry->shape, at::TensorOptions().dtype(at::kFloat));
  copy_view_into(view, t);
  return t;
}

inline double relative_error(const at::Tensor& got, const at::Tensor& want) {
  const double scale = want.abs().max().item<double>();
  return (got.detach().to(at::kFloat) - want).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

// Returns how many gradients were compared.
inline int expect_vision_tower_matches(const std::filesystem::path& dir) {
  namespace m = automodel::models;
  auto config = m::parse_vision_config(nlohmann::json::parse(read_file(dir / "config.json")), (dir / "config.json").string());
  m::VisionTower tower(config, at::TensorOptions().dtype(at::kFloat));
  m::load_vision_tower(tower, hf::SafetensorsCheckpoint::open(dir / "model.safetensors"));
  for (const auto& p : tower.named_parameters()) p.tensor->set_requires_grad(true);
  const auto expected = hf::SafetensorsCheckpoint::open(dir / "expected.safetensors");
  auto out = tower.forward(expected_tensor(expected, "pixel_values"));
  EXPECT_LE(relative_error(out.last_hidden_state, expected_tensor(expected, "last_hidden_state")), 1e-5);
  EXPECT_LE(relative_error(out.pooler_output, expected_tensor(expected, "pooler_output")), 1e-5);
  for (size_t i = 0; i < out.hidden_states.size(); ++i) {
    const auto name = "hidden_states." + std::to_string(i);
    if (expected.contains(name)) EXPECT_LE(relative_error(out.hidden_states[i], expected_tensor(expected, name)), 1e-5) << name;
  }
  auto loss = (out.last_hidden_state * expected_tensor(expected, "loss_weight.last_hidden_state")).sum() +
              (out.pooler_output * expected_tensor(expected, "loss_weight.pooler_output")).sum();
  EXPECT_LE(relative_error(loss, expected_tensor(expected, "loss")), 1e-5);
  loss.backward();
  const std::string v4 = "vision_model.";
  std::vector<std::pair<std::string, at::Tensor>> pairs;  // (our name, expected gradient)
  double largest = 0;
  for (const auto& p : tower.named_parameters()) {
    std::string name = "grad." + p.name;
    if (!expected.contains(name)) name = "grad." + p.name.substr(v4.size());
    if (!expected.contains(name)) continue;
    pairs.emplace_back(p.name, expected_tensor(expected, name));
    largest = std::max(largest, pairs.back().second.abs().max().item<double>());
  }
  int compared = 0;
  for (const auto& p : tower.named_parameters()) {
    auto it = std::find_if(pairs.begin(), pairs.end(), [&](const auto& e) { return e.first == p.name; });
    if (it == pairs.end()) continue;
    EXPECT_TRUE(p.tensor->grad().defined()) << p.name << " got no gradient";
    if (!p.tensor->grad().defined()) continue;
    const auto& want = it->second;
    if (want.abs().max().item<double>() < kZeroGradientFraction * largest)
      EXPECT_LT(p.tensor->grad().abs().max().item<double>(), kZeroGradientFraction * largest) << p.name << " should be zero";
    else
      EXPECT_LE(relative_error(p.tensor->grad(), want), 1e-4) << p.name;
    ++compared;
  }
  return compared;
}

}  // namespace automodel::testing
