// The module tree: dotted names, replace_module() seen by the parent's forward through its Slot,
// type-checked replacement (refused with nothing changed), and inline children that keep their
// parent's names (how wrappers keep HF parameter names).
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>

#include "automodel/common/error.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/common/module.h"

namespace automodel::models {
namespace {

const at::TensorOptions kF32 = at::TensorOptions().dtype(at::kFloat);

// A parent as the architectures write them: a LinearLayer slot (replaceable by any linear
// layer), a concrete-typed slot and a norm, called in forward.
class Parent : public Module {
 public:
  Parent() {
    proj = add_module<LinearLayer>("proj", std::make_unique<Linear>(4, 3, true, kF32));
    norm = add_module("norm", std::make_unique<RMSNorm>(3, 1e-6, false, kF32));
    layers = add_module("layers", std::make_unique<ModuleList<Linear>>());
    for (int i = 0; i < 2; ++i) layers->append(std::make_unique<Linear>(3, 3, false, kF32));
    for (const auto& p : named_parameters()) p.tensor->copy_(at::randn(p.tensor->sizes()));
  }
  at::Tensor forward(const at::Tensor& x) const { return (*layers)[1].forward(norm->forward(proj->forward(x))); }
  Slot<LinearLayer> proj;
  Slot<RMSNorm> norm;
  Slot<ModuleList<Linear>> layers;
};

// The smallest wrapper: its base inline (same names), an extra parameter of its own, y = 2 base(x).
class Doubled : public LinearLayer {
 public:
  explicit Doubled(std::unique_ptr<LinearLayer> base)
      : LinearLayer(base->in_features(), base->out_features()) {
    base_ = add_inline_module(std::move(base));
    add_parameter("extra", at::zeros({1}, kF32));
  }
  at::Tensor forward(const at::Tensor& x) const override { return base_->forward(x) * 2.0; }
  const at::Tensor& weight() const override { return base_->weight(); }
  at::Tensor bias() const override { return base_->bias(); }

 private:
  Slot<LinearLayer> base_;
};

std::vector<std::string> names_of(const Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.name);
  return out;
}

TEST(Module, NamesFollowTheTreeAndFindModuleWalksIt) {
  Parent b;
  EXPECT_EQ(names_of(b), (std::vector<std::string>{"proj.weight", "proj.bias", "norm.weight", "layers.0.weight",
                                                   "layers.1.weight"}));
  EXPECT_EQ(b.find_module("layers.1"), &(*b.layers)[1]);
  EXPECT_EQ(b.find_module(""), &b);
  EXPECT_EQ(b.find_module("layers.2"), nullptr);
  EXPECT_EQ(b.find_module("proj.weight"), nullptr);
}

TEST(Module, ReplacedChildIsWhatTheParentsForwardCalls) {
  at::manual_seed(0);
  Parent b;
  auto x = at::randn({2, 4});
  auto fresh = std::make_unique<Linear>(3, 3, false, kF32);
  at::NoGradGuard no_grad;
  fresh->weight().zero_();
  auto* raw = fresh.get();
  auto old = b.replace_module("layers.1", std::move(fresh));
  EXPECT_NE(old.get(), raw);
  EXPECT_EQ(b.find_module("layers.1"), raw);
  EXPECT_EQ(&(*b.layers)[1], raw);
  EXPECT_TRUE(at::equal(b.forward(x), at::zeros({2, 3}, kF32)));
}

TEST(Module, AReplacementOfTheWrongTypeIsAnErrorNamingBothAndChangesNothing) {
  Parent b;
  auto* before = b.find_module("norm");
  try {
    b.replace_module("norm", std::make_unique<Linear>(3, 3, false, kF32));
    FAIL() << "an RMSNorm slot took a Linear";
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("'norm'"), std::string::npos) << what;
    EXPECT_NE(what.find("RMSNorm"), std::string::npos) << what;
    EXPECT_NE(what.find("Linear"), std::string::npos) << what;
  }
  EXPECT_EQ(b.find_module("norm"), before);
  EXPECT_EQ(b.norm.get(), before);
  // A ModuleList<Linear> holds Linears: a LinearLayer that is not one is refused.
  auto* layer = b.find_module("layers.0");
  auto wrapper = std::make_unique<Doubled>(std::make_unique<Linear>(3, 3, false, kF32));
  EXPECT_THROW(b.replace_module("layers.0", std::move(wrapper)), Error);
  EXPECT_EQ(b.find_module("layers.0"), layer);
  EXPECT_THROW(b.replace_module("missing", std::make_unique<Linear>(3, 3, false, kF32)), Error);
  EXPECT_THROW(b.replace_module("", std::make_unique<Linear>(3, 3, false, kF32)), Error);
}

TEST(Module, AWrapperKeepsItsInlineBasesNamesAndIsTheModuleUnderThatName) {
  at::manual_seed(1);
  Parent b;
  auto x = at::randn({2, 4});
  const auto base_out = b.proj->forward(x);
  auto* base = b.find_module("proj");
  auto displaced = b.replace_module("proj", std::make_unique<Linear>(4, 3, true, kF32));
  std::unique_ptr<LinearLayer> owned(static_cast<LinearLayer*>(displaced.release()));
  auto wrapper = std::make_unique<Doubled>(std::move(owned));
  auto* raw = wrapper.get();
  b.replace_module("proj", std::move(wrapper));
  EXPECT_EQ(names_of(b), (std::vector<std::string>{"proj.extra", "proj.weight", "proj.bias", "norm.weight",
                                                   "layers.0.weight", "layers.1.weight"}));
  EXPECT_EQ(b.find_module("proj"), raw);
  EXPECT_EQ(&raw->weight(), &dynamic_cast<Linear*>(base)->weight());
  EXPECT_TRUE(at::equal(b.proj->forward(x), base_out * 2.0));
  // named_modules lists the wrapper under "proj", not its inline base a second time.
  int under_proj = 0;
  for (const auto& [name, module] : b.named_modules()) under_proj += name == "proj";
  EXPECT_EQ(under_proj, 1);
  // export_parameters defaults to the parameters as they are, under the same names.
  NamedTensors exported;
  b.export_parameters("", {}, exported);
  ASSERT_EQ(exported.size(), 6u);
  EXPECT_EQ(exported[1].first, "proj.weight");
  exported.clear();
  b.export_parameters("model.", [](const std::string& n) { return n.starts_with("model.proj."); }, exported);
  EXPECT_EQ(exported.size(), 3u);
}

}  // namespace
}  // namespace automodel::models
