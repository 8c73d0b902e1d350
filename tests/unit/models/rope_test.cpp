// Rotary embedding frequencies for every rope type, checked against the closed-form formulas
// (computed here in double precision) and their defining properties.
#include <gtest/gtest.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/tensor.h>

#include <cmath>

#include "automodel/hf/model_config.h"
#include "automodel/models/common/rope.h"

namespace automodel::models {
namespace {

hf::RopeConfig rope_from(const std::string& json, int64_t head_dim) {
  auto config = hf::parse_model_config(json, "test/config.json");
  return hf::parse_rope_config(config.fields(), head_dim);
}

std::vector<double> to_vec(const at::Tensor& t) {
  auto c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::vector<double> default_freqs(double theta, int64_t dim) {
  std::vector<double> out;
  for (int64_t i = 0; i < dim; i += 2) out.push_back(1.0 / std::pow(theta, static_cast<double>(i) / dim));
  return out;
}

void expect_near_rel(const std::vector<double>& got, const std::vector<double>& want, double tol = 2e-7) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol * std::abs(want[i])) << "index " << i;
}

TEST(Rope, DefaultMatchesClosedForm) {
  RotaryEmbedding rope(rope_from(R"({"model_type":"llama","rope_theta":10000.0,"max_position_embeddings":64})", 16));
  expect_near_rel(to_vec(rope.inv_freq(10)), default_freqs(10000.0, 16));
  EXPECT_EQ(rope.attention_factor(), 1.0);
}

TEST(Rope, LinearDividesFrequenciesByFactor) {
  RotaryEmbedding rope(rope_from(R"({"model_type":"llama","rope_scaling":{"rope_type":"linear","factor":4.0}})", 8));
  auto want = default_freqs(10000.0, 8);
  for (auto& w : want) w /= 4.0;
  expect_near_rel(to_vec(rope.inv_freq(0)), want);
}

TEST(Rope, DynamicGrowsBaseOnlyBeyondMaxPositions) {
  RotaryEmbedding rope(rope_from(
      R"({"model_type":"llama","max_position_embeddings":32,"rope_scaling":{"rope_type":"dynamic","factor":2.0}})", 8));
  expect_near_rel(to_vec(rope.inv_freq(31)), default_freqs(10000.0, 8));
  // seq_len 64: base * ((2 * 64 / 32) - 1) ^ (8 / 6)
  double base = 10000.0 * std::pow(3.0, 8.0 / 6.0);
  expect_near_rel(to_vec(rope.inv_freq(63)), default_freqs(base, 8));
}

TEST(Rope, Llama3KeepsHighScalesLowAndSmoothsMiddleFrequencies) {
  RotaryEmbedding rope(rope_from(R"({"model_type":"llama","rope_theta":10000.0,"rope_scaling":{"rope_type":"llama3",
      "factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":256}})", 16));
  auto base = default_freqs(10000.0, 16);
  auto got = to_vec(rope.inv_freq(0));
  for (size_t i = 0; i < base.size(); ++i) {
    double wavelen = 2 * M_PI / base[i];
    if (wavelen < 256.0 / 4.0) {
      EXPECT_NEAR(got[i], base[i], 1e-7 * base[i]);
    } else if (wavelen > 256.0) {
      EXPECT_NEAR(got[i], base[i] / 8.0, 1e-7 * base[i]);
    } else {
      double smooth = (256.0 / wavelen - 1.0) / 3.0;
      EXPECT_NEAR(got[i], (1 - smooth) * base[i] / 8.0 + smooth * base[i], 1e-6 * base[i]);
    }
  }
}

TEST(Rope, YarnBlendsInterpolationAndExtrapolationAndScalesAttention) {
  RotaryEmbedding rope(rope_from(R"({"model_type":"llama","max_position_embeddings":4096,"rope_theta":10000.0,
      "rope_scaling":{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":1024}})", 64));
  auto base = default_freqs(10000.0, 64);
  auto got = to_vec(rope.inv_freq(0));
  EXPECT_NEAR(got.front(), base.front(), 1e-7);                       // fastest: extrapolated
  EXPECT_NEAR(got.back(), base.back() / 4.0, 1e-7 * base.back());     // slowest: interpolated
  EXPECT_NEAR(rope.attention_factor(), 0.1 * std::log(4.0) + 1.0, 1e-12);
  auto [cos, sin] = rope.cos_sin(at::arange(1, at::kLong).view({1, 1}), at::kFloat);
  EXPECT_NEAR(cos[0][0][0].item<double>(), rope.attention_factor(), 1e-6);  // cos(0) * factor
}

TEST(Rope, YarnV4DerivesFactorFromContextRatio) {
  // transformers v4: original_max_position_embeddings present -> factor = max / original (8), not 2.
  RotaryEmbedding rope(rope_from(R"({"model_type":"llama","max_position_embeddings":8192,
      "rope_scaling":{"rope_type":"yarn","factor":2.0,"original_max_position_embeddings":1024}})", 64));
  EXPECT_NEAR(rope.attention_factor(), 0.1 * std::log(8.0) + 1.0, 1e-12);
}

TEST(Rope, LongropeSwitchesFactorsPastOriginalContext) {
  RotaryEmbedding rope(rope_from(R"({"model_type":"phi3","max_position_embeddings":4096,
      "original_max_position_embeddings":1024,"rope_theta":10000.0,
      "rope_scaling":{"type":"longrope","short_factor":[1.0,1.0,2.0,2.0],"long_factor":[4.0,4.0,8.0,8.0]}})", 8));
  auto base = default_freqs(10000.0, 8);
  std::vector<double> short_want = {base[0], base[1], base[2] / 2, base[3] / 2};
  std::vector<double> long_want = {base[0] / 4, base[1] / 4, base[2] / 8, base[3] / 8};
  expect_near_rel(to_vec(rope.inv_freq(1023)), short_want);
  expect_near_rel(to_vec(rope.inv_freq(1024)), long_want);
  EXPECT_NEAR(rope.attention_factor(), std::sqrt(1 + std::log(4.0) / std::log(1024.0)), 1e-12);
}

TEST(Rope, PartialRotaryLeavesTrailingDimsUnchanged) {
  RotaryEmbedding rope(rope_from(R"({"model_type":"llama","partial_rotary_factor":0.5})", 8));
  auto x = at::arange(1 * 1 * 3 * 8, at::TensorOptions().dtype(at::kFloat)).view({1, 1, 3, 8});
  auto [cos, sin] = rope.cos_sin(at::arange(3, at::kLong).view({1, 3}), at::kFloat);
  auto y = apply_rotary(x, cos, sin);
  EXPECT_TRUE(at::allclose(y.narrow(-1, 4, 4), x.narrow(-1, 4, 4)));
  EXPECT_FALSE(at::allclose(y.narrow(-1, 0, 4).select(2, 2), x.narrow(-1, 0, 4).select(2, 2)));
  EXPECT_TRUE(at::allclose(y.select(2, 0), x.select(2, 0)));  // position 0 is not rotated
}

}  // namespace
}  // namespace automodel::models
