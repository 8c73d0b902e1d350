// Shared by the HF parity tests (frozen fixtures and the live transformers sweep): runs
// `automodel debug forward` on a model folder and compares every tensor of an HF reference
// file (logits, loss, hidden states, layer outputs, router logits, gradients) with its output.
#pragma once

#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "automodel/common/torch_util.h"
#include "automodel/hf/safetensors.h"
#include "test_util.h"

namespace automodel::testing {

// max|ours - expected| / max|expected| per tensor: forward tensors within 1e-5, gradients 1e-4.
inline constexpr double kForwardTolerance = 1e-5;
inline constexpr double kGradientTolerance = 1e-4;
// A gradient that is zero in exact arithmetic (a key projection's bias: softmax ignores a shift
// every score of a row shares) is rounding noise on both sides: such a tensor (expected below
// this fraction of the model's largest gradient) must be as small in ours.
inline constexpr double kZeroGradientFraction = 1e-6;

inline bool is_model_input(const std::string& name) {
  return name == "input_ids" || name == "labels" || name == "attention_mask" || name == "position_ids" ||
         name == "pixel_values" || name == "image_grid_thw" || name == "pixel_attention_mask" ||
         name == "mm_token_type_ids" || name == "token_type_ids";
}

// `automodel debug forward` on `model_dir` with the inputs stored in `expected` (input_ids,
// labels, ...); writes `out`. `extra_args` go to the command (e.g. "--device cuda").
inline CommandResult run_debug_forward(const std::filesystem::path& model_dir, const std::filesystem::path& expected,
                                       const std::filesystem::path& out, const std::string& extra_args = "") {
  return run_command(automodel_binary() + " debug forward --model '" + model_dir.string() + "' --inputs '" +
                     expected.string() + "' --out '" + out.string() + "' " + extra_args);
}

// Every non-input tensor of `expected` must be in `got`, with the same shape, within tolerance.
// Failures are reported with `label` (the fixture or architecture). Returns how many tensors
// were compared.
inline int expect_every_tensor_matches(const std::filesystem::path& expected_path, const std::filesystem::path& got_path,
                                       const std::string& label) {
  auto expected = hf::SafetensorsCheckpoint::open(expected_path);
  auto got = hf::SafetensorsCheckpoint::open(got_path);
  double largest_gradient = 0;
  for (const auto& name : expected.names())
    if (name.starts_with("grad."))
      largest_gradient = std::max(largest_gradient, borrow_view(expected.get(name)).abs().max().item<double>());
  int compared = 0;
  for (const auto& name : expected.names()) {
    if (is_model_input(name)) continue;
    EXPECT_TRUE(got.contains(name)) << label << ": debug forward did not write " << name;
    if (!got.contains(name)) continue;
    auto want = borrow_view(expected.get(name)).to(at::kDouble);
    auto have = borrow_view(got.get(name)).to(at::kDouble);
    EXPECT_EQ(have.sizes(), want.sizes()) << label << ": " << name;
    if (have.sizes() != want.sizes()) continue;
    ++compared;
    const double want_max = want.abs().max().item<double>();
    if (name.starts_with("grad.") && want_max < kZeroGradientFraction * largest_gradient) {
      EXPECT_LT(have.abs().max().item<double>(), kZeroGradientFraction * largest_gradient)
          << label << ": " << name << " is zero in exact arithmetic";
      continue;
    }
    double rel = (have - want).abs().max().item<double>() / std::max(want_max, 1e-30);
    double tol = name.starts_with("grad.") ? kGradientTolerance : kForwardTolerance;
    EXPECT_LE(rel, tol) << label << ": " << name << " max|d|/max|expected| = " << rel;
  }
  return compared;
}

}  // namespace automodel::testing
