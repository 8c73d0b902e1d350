// LoRA as a wrapper installed by module replacement: the model's forward goes through it,
// parameter names are unchanged (base HF names + PEFT's lora_A/lora_B), B = 0 is the base, the
// merged weight is W + scale B A, and a slot that cannot hold it is refused with nothing changed.
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>

#include <algorithm>

#include "automodel/common/error.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/common/weights.h"
#include "automodel/peft/lora.h"
#include "automodel/peft/lora_linear.h"
#include "peft_test_util.h"

namespace automodel::peft {
namespace {

using testing::lora_on;
using testing::tiny_llama;
using models::Linear;
using models::LinearLayer;
using models::Module;
using models::Slot;

const at::TensorOptions kF32 = at::TensorOptions().dtype(at::kFloat);

// A parent as the architectures write them: a LinearLayer slot it calls in forward, and a
// concrete-typed slot that only a Linear may fill.
class TwoLayers : public Module {
 public:
  TwoLayers() {
    proj = add_module<LinearLayer>("proj", std::make_unique<Linear>(4, 3, true, kF32));
    fixed = add_module("fixed", std::make_unique<Linear>(3, 2, false, kF32));
    norm = add_module("norm", std::make_unique<models::RMSNorm>(3, 1e-6, false, kF32));
    for (const auto& p : named_parameters()) p.tensor->copy_(at::randn(p.tensor->sizes()));
  }
  at::Tensor forward(const at::Tensor& x) const { return fixed->forward(norm->forward(proj->forward(x))); }
  Slot<LinearLayer> proj;
  Slot<Linear> fixed;
  Slot<models::RMSNorm> norm;
};

std::vector<std::string> names_of(const Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.name);
  return out;
}

config::PeftSection proj_targets() { return lora_on({"*_proj"}, 8); }

TEST(LoraLinear, WrapsALinearSlotAndTheParentsForwardGoesThroughIt) {
  at::manual_seed(1);
  TwoLayers m;
  auto x = at::randn({5, 4});
  const auto base_out = m.forward(x);
  auto* base = m.find_module("proj");
  auto& lora = LoraLinear::wrap(m, "proj", {2, 4.0});
  EXPECT_EQ(m.find_module("proj"), &lora);
  EXPECT_EQ(&lora.base(), base);
  EXPECT_EQ(names_of(m), (std::vector<std::string>{"proj.weight", "proj.bias", "proj.lora_A.weight",
                                                   "proj.lora_B.weight", "fixed.weight", "norm.weight"}));
  at::NoGradGuard no_grad;
  lora.lora_A().weight().normal_();
  lora.lora_B().weight().zero_();
  EXPECT_TRUE(at::equal(m.forward(x), base_out)) << "B = 0 must leave the output as the base's";
  lora.lora_B().weight().normal_();
  EXPECT_FALSE(at::allclose(m.forward(x), base_out));
  // The update is scale * B A x on top of the base.
  auto ax = at::matmul(x, lora.lora_A().weight().t());  // (5, rank)
  auto expected = lora.base().forward(x) + at::matmul(ax, lora.lora_B().weight().t()) * 2.0;
  EXPECT_TRUE(at::allclose(lora.forward(x), expected, 1e-5, 1e-6));
}

TEST(LoraLinear, RefusesAConcreteLinearSlotAndLeavesTheModelWhole) {
  TwoLayers m;
  auto* before = m.find_module("fixed");
  EXPECT_THROW(LoraLinear::wrap(m, "fixed", {2, 4.0}), Error);
  EXPECT_EQ(m.find_module("fixed"), before);
  EXPECT_EQ(m.fixed.get(), before);
  EXPECT_THROW(LoraLinear::wrap(m, "norm", {2, 4.0}), Error);  // not a linear layer
  LoraLinear::wrap(m, "proj", {2, 4.0});
  EXPECT_THROW(LoraLinear::wrap(m, "proj", {2, 4.0}), Error);  // already adapted
}

TEST(LoraLinear, MergedWeightIsWPlusScaleBA) {
  at::manual_seed(2);
  TwoLayers m;
  auto& lora = LoraLinear::wrap(m, "proj", {2, 3.0});
  at::NoGradGuard no_grad;
  lora.lora_A().weight().normal_();
  lora.lora_B().weight().normal_();
  const auto& w = lora.base().weight();
  auto expected = w + at::matmul(lora.lora_B().weight(), lora.lora_A().weight()) * 1.5;
  EXPECT_TRUE(at::allclose(lora.merged_weight(), expected, 1e-6, 1e-6));
  // A dense layer with the merged weight computes what the wrapper computes.
  auto x = at::randn({3, 4});
  auto bias = *m.named_parameters()[1].tensor;
  EXPECT_TRUE(at::allclose(at::matmul(x, lora.merged_weight().t()) + bias, lora.forward(x), 1e-5, 1e-5));
}

// GPT-2's Conv1D stores its weight (in, out): the merged weight keeps that layout (PEFT's
// fan_in_fan_out), and a Conv1D holding it computes what the wrapper computes.
TEST(LoraLinear, AroundConv1DTheMergedWeightStaysInByOut) {
  at::manual_seed(3);
  class Gpt2Like : public Module {
   public:
    Gpt2Like() {
      c_attn = add_module<LinearLayer>("c_attn", std::make_unique<models::Conv1D>(4, 6, kF32));
      for (const auto& p : named_parameters()) p.tensor->copy_(at::randn(p.tensor->sizes()));
    }
    Slot<LinearLayer> c_attn;
  } m;
  auto& lora = LoraLinear::wrap(m, "c_attn", {2, 3.0});
  EXPECT_TRUE(lora.fan_in_fan_out());
  at::NoGradGuard no_grad;
  lora.lora_A().weight().normal_();  // (2, 4)
  lora.lora_B().weight().normal_();  // (6, 2)
  const auto& w = lora.base().weight();
  ASSERT_EQ(w.sizes(), at::IntArrayRef({4, 6}));
  auto expected = w + at::matmul(lora.lora_B().weight(), lora.lora_A().weight()).t() * 1.5;
  EXPECT_TRUE(at::allclose(lora.merged_weight(), expected, 1e-6, 1e-6));
  auto x = at::randn({3, 4});
  auto bias = *m.named_parameters()[1].tensor;
  EXPECT_TRUE(at::allclose(at::matmul(x, lora.merged_weight()) + bias, lora.forward(x), 1e-5, 1e-5));
}

TEST(LoraLinear, TrainingModeFollowsTheBaseAndTheModel) {
  TwoLayers m;
  m.set_training(true);
  auto& lora = LoraLinear::wrap(m, "proj", {2, 4.0, /*dropout=*/0.5});
  EXPECT_TRUE(lora.training());
  m.set_training(false);
  EXPECT_FALSE(lora.training());
  EXPECT_FALSE(lora.base().training());
}

TEST(ApplyLora, KeepsEveryBaseNameInOrderAndAddsPeftsAdapterNames) {
  auto model = tiny_llama();
  const auto before = names_of(*model);
  auto targets = apply_lora(*model, proj_targets(), 5);
  EXPECT_EQ(targets.size(), static_cast<size_t>(7 * model->num_layers()));
  std::vector<std::string> base_names, adapter_names;
  for (const auto& name : names_of(*model)) (is_adapter_parameter(name) ? adapter_names : base_names).push_back(name);
  EXPECT_EQ(base_names, before);
  ASSERT_EQ(adapter_names.size(), 2 * targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    EXPECT_EQ(adapter_names[2 * i], targets[i] + ".lora_A.weight");
    EXPECT_EQ(adapter_names[2 * i + 1], targets[i] + ".lora_B.weight");
    EXPECT_NE(dynamic_cast<LoraLinear*>(model->find_module(targets[i])), nullptr) << targets[i];
  }
}

TEST(ApplyLora, FreshAdaptersLeaveLogitsAndExportUnchanged) {
  auto model = tiny_llama();
  auto ids = at::randint(model->vocab_size(), {2, 7}, at::TensorOptions().dtype(at::kLong));
  const auto logits = model->logits(model->forward({ids}).hidden);
  const auto exported = models::hf_state_dict(*model);
  apply_lora(*model, proj_targets(), 5);
  EXPECT_TRUE(at::equal(model->logits(model->forward({ids}).hidden), logits));
  const auto after = models::hf_state_dict(*model);
  ASSERT_EQ(after.size(), exported.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].first, exported[i].first);
    EXPECT_TRUE(at::equal(after[i].second, exported[i].second)) << after[i].first;
  }
}

TEST(ApplyLora, ExportHoldsMergedWeightsUnderHfNamesAndNoAdapter) {
  auto model = tiny_llama();
  apply_lora(*model, proj_targets(), 5);
  at::NoGradGuard no_grad;
  for (const auto& p : model->named_parameters())
    if (p.name.ends_with("lora_B.weight")) p.tensor->normal_();
  const std::string q = "model.layers.1.self_attn.q_proj";
  auto& lora = dynamic_cast<LoraLinear&>(*model->find_module(q));
  auto merged = models::hf_state_dict(*model, [&](const std::string& n) { return n.starts_with(q); });
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].first, q + ".weight");
  EXPECT_TRUE(at::equal(merged[0].second, lora.merged_weight()));
  for (const auto& [name, _] : models::hf_state_dict(*model)) EXPECT_FALSE(is_adapter_parameter(name)) << name;
}

TEST(ApplyLora, GradientsReachTheAdaptersThroughTheModelsForward) {
  auto model = tiny_llama();
  apply_lora(*model, proj_targets(), 5);
  for (const auto& p : model->named_parameters()) {
    if (p.name.ends_with("lora_B.weight")) {
      at::NoGradGuard no_grad;
      p.tensor->normal_(0, 0.1);
    }
    p.tensor->set_requires_grad(is_adapter_parameter(p.name));
  }
  auto ids = at::randint(model->vocab_size(), {1, 6}, at::TensorOptions().dtype(at::kLong));
  model->logits(model->forward({ids}).hidden).sum().backward();
  for (const auto& p : model->named_parameters())
    EXPECT_EQ(p.tensor->grad().defined(), is_adapter_parameter(p.name)) << p.name;
}

TEST(AdapterNames, AdapterParametersAndPeftKeysRoundTrip) {
  EXPECT_TRUE(is_adapter_parameter("model.layers.0.self_attn.q_proj.lora_A.weight"));
  EXPECT_TRUE(is_adapter_parameter("model.layers.0.mlp.down_proj.lora_B.weight"));
  EXPECT_TRUE(is_adapter_parameter("lm_head.lora_A.weight"));
  EXPECT_FALSE(is_adapter_parameter("model.layers.0.self_attn.q_proj.weight"));
  EXPECT_FALSE(is_adapter_parameter("model.layers.0.self_attn.q_proj.bias"));
  EXPECT_FALSE(is_adapter_parameter("model.my_lora_A.weight"));
  for (std::string name : {"model.layers.3.mlp.up_proj.lora_A.weight", "lm_head.lora_B.weight"}) {
    auto key = adapter_key(name);
    EXPECT_EQ(key, "base_model.model." + name);
    EXPECT_EQ(module_of_adapter_key(key), name);
  }
  EXPECT_THROW(module_of_adapter_key("model.layers.0.q_proj.lora_A.weight"), Error);
}

}  // namespace
}  // namespace automodel::peft
