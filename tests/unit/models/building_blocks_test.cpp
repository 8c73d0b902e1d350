// The decoder building blocks checked against their defining formulas, written out here with
// plain tensor ops: interleaved-pair rope, norm variants, relu^2, the embedding's padding row,
// per-layer-type config readers.
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cos.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/sin.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include "automodel/common/error.h"
#include "automodel/hf/model_config.h"
#include "automodel/models/common/decoder_spec.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/common/rope.h"
#include "test_util.h"

namespace automodel::models {
namespace {

const auto kF32 = at::TensorOptions().dtype(at::kFloat);
std::string error_of(const std::function<void()>& f) { return testing::error_message_of<Error>(f); }

TEST(InterleavedRope, RotatesAdjacentPairsByOneFrequencyEach) {
  const int64_t rot = 4, T = 3;
  auto x = at::randn({1, 2, T, 6}, kF32);  // (B, H, T, D): the last 2 dims are not rotated
  auto freqs = at::tensor({0.5f, 0.25f}, kF32);
  auto angles = at::arange(T, kF32).unsqueeze(1) * freqs.unsqueeze(0);  // (T, rot/2)
  auto cos = at::cat({angles.cos(), angles.cos()}, -1).unsqueeze(0);      // (1, T, rot) as [f | f]
  auto sin = at::cat({angles.sin(), angles.sin()}, -1).unsqueeze(0);
  auto out = apply_rotary(x, cos, sin, /*interleaved=*/true);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < rot / 2; ++i) {
      auto a = x.select(2, t).select(-1, 2 * i), b = x.select(2, t).select(-1, 2 * i + 1);
      double c = std::cos(t * freqs[i].item<double>()), s = std::sin(t * freqs[i].item<double>());
      EXPECT_TRUE(at::allclose(out.select(2, t).select(-1, 2 * i), a * c - b * s, 1e-6, 1e-6));
      EXPECT_TRUE(at::allclose(out.select(2, t).select(-1, 2 * i + 1), b * c + a * s, 1e-6, 1e-6));
    }
  EXPECT_TRUE(at::equal(out.narrow(-1, rot, 2), x.narrow(-1, rot, 2)));
}

TEST(Norms, LayerNormWithoutParametersOnlyStandardises) {
  LayerNorm norm(8, 1e-5, kF32, LayerNormOptions{.weight = false, .bias = false});
  EXPECT_TRUE(norm.named_parameters().empty());
  auto x = at::randn({3, 8}, kF32);
  auto mean = x.mean(-1, true), var = (x - mean).pow(2).mean(-1, true);
  EXPECT_TRUE(at::allclose(norm.forward(x), (x - mean) / (var + 1e-5).sqrt(), 1e-5, 1e-6));
}

TEST(Norms, UnitOffsetLayerNormScalesByOnePlusWeight) {
  LayerNorm norm(4, 1e-5, kF32, LayerNormOptions{.unit_offset = true});
  auto params = norm.named_parameters();
  ASSERT_EQ(params.size(), 2u);
  params[0].tensor->fill_(0.5);  // weight
  params[1].tensor->fill_(0.25);  // bias
  LayerNorm plain(4, 1e-5, kF32, LayerNormOptions{.weight = false, .bias = false});
  auto x = at::randn({2, 4}, kF32);
  EXPECT_TRUE(at::allclose(norm.forward(x), plain.forward(x) * 1.5 + 0.25, 1e-5, 1e-6));
}

TEST(Activations, Relu2IsTheSquareOfRelu) {
  auto x = at::tensor({-2.0f, -0.5f, 0.0f, 0.5f, 3.0f}, kF32);
  EXPECT_TRUE(at::equal(activate(Activation::kRelu2, x), at::tensor({0.0f, 0.0f, 0.0f, 0.25f, 9.0f}, kF32)));
  EXPECT_EQ(parse_activation("relu2", "here"), Activation::kRelu2);
}

TEST(EmbeddingPadding, ThePaddingRowGetsNoGradient) {
  Embedding embedding(5, 3, kF32, /*padding_idx=*/2);
  auto& w = *embedding.named_parameters()[0].tensor;
  w.copy_(at::randn({5, 3}, kF32));
  w.set_requires_grad(true);
  embedding.forward(at::tensor({2, 1, 2, 4}, at::kLong)).sum().backward();
  EXPECT_TRUE(at::equal(w.grad()[2], at::zeros({3}, kF32)));
  EXPECT_TRUE(at::equal(w.grad()[1], at::ones({3}, kF32)));
}

TEST(DecoderSpecReading, PadTokenIdOutsideTheVocabularyIsAnErrorNamingTheField) {
  auto config = hf::parse_model_config(R"({"model_type": "llama", "vocab_size": 8, "hidden_size": 8,
    "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "pad_token_id": 8})", "c.json");
  auto msg = error_of([&] { read_decoder_spec(config.fields()); });
  EXPECT_NE(msg.find("field 'pad_token_id'"), std::string::npos) << msg;
}

TEST(DecoderSpecReading, LayerTypesComeFromTheConfigOrTheArchitecturesPattern) {
  auto with = hf::parse_model_config(R"({"model_type": "x", "layer_types": ["full_attention", "sliding_attention"]})", "c.json");
  auto without = hf::parse_model_config(R"({"model_type": "x"})", "c.json");
  auto allowed = std::vector<std::string>{"full_attention", "sliding_attention"};
  auto pattern = [](int64_t i) { return i % 2 == 0 ? "sliding_attention" : "full_attention"; };
  EXPECT_EQ(read_layer_types(with.fields(), 2, allowed, pattern), (std::vector<std::string>{"full_attention", "sliding_attention"}));
  EXPECT_EQ(read_layer_types(without.fields(), 2, allowed, pattern), (std::vector<std::string>{"sliding_attention", "full_attention"}));
  auto msg = error_of([&] { read_layer_types(with.fields(), 3, allowed, pattern); });
  EXPECT_NE(msg.find("expected 3 entries"), std::string::npos) << msg;
  auto bad = hf::parse_model_config(R"({"model_type": "x", "layer_types": ["full_attention", "linear_attention"]})", "c.json");
  msg = error_of([&] { read_layer_types(bad.fields(), 2, allowed, pattern); });
  EXPECT_NE(msg.find("'linear_attention'"), std::string::npos) << msg;
}

TEST(DecoderSpecReading, SlidingWindowFallbackAppliesOnlyWhenTheKeyIsAbsent) {
  auto absent = hf::parse_model_config(R"({"model_type": "x"})", "c.json");
  auto null = hf::parse_model_config(R"({"model_type": "x", "sliding_window": null})", "c.json");
  EXPECT_EQ(read_sliding_window(absent.fields(), 4096), std::optional<int64_t>(4096));
  EXPECT_EQ(read_sliding_window(null.fields(), 4096), std::nullopt);
}

}  // namespace
}  // namespace automodel::models
