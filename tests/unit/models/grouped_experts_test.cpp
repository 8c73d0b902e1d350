// MoE experts run as one grouped operation (forward and hand-written backward, experts in
// parallel) against the same experts applied one by one with autograd: outputs and the gradients
// of the rows, the routing weights and every weight, for each projection layout and activation.
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randn_like.h>
#include <ATen/ops/stack.h>

#include <vector>

#include "automodel/common/error.h"
#include "automodel/models/common/grouped_experts.h"
#include "test_util.h"

namespace automodel::models {
namespace {

using Input = DenseExperts::Input;
const auto kF32 = at::TensorOptions().dtype(at::kFloat);

struct Case {
  Input input;
  Activation act;
  bool stacked, scaled;
};

at::Tensor leaf(std::vector<int64_t> shape) { return at::randn(shape, kF32).requires_grad_(true); }

// Expert e of the grouped experts, by the definition: projections, activation, down.
at::Tensor one_expert(const DenseExperts& d, int64_t e, const at::Tensor& x) {
  auto m = [&](const std::vector<at::Tensor>& list) { return list.size() == 1 && list[0].dim() == 3 ? list[0][e] : list[e]; };
  at::Tensor h;
  if (d.input == Input::kGateAndUp) h = activate(d.act, at::linear(x, m(d.first))) * at::linear(x, m(d.second));
  if (d.input == Input::kFusedGateUp) {
    auto halves = at::linear(x, m(d.first)).chunk(2, -1);
    h = activate(d.act, halves[0]) * halves[1];
  }
  if (d.input == Input::kUp) h = activate(d.act, at::linear(x, m(d.first)));
  return at::linear(h, m(d.down));
}

void expect_close(const at::Tensor& got, const at::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.defined(), want.defined()) << what;
  if (!want.defined()) return;
  EXPECT_TRUE(at::allclose(got, want, 1e-5, 1e-5)) << what << ": max |diff| "
                                                   << (got - want).abs().max().item<float>();
}

class GroupedExperts : public ::testing::TestWithParam<Case> {};

TEST_P(GroupedExperts, MatchOneExpertAtATimeWithAutograd) {
  const auto c = GetParam();
  const int64_t E = 4, H = 6, I = 5;
  const std::vector<int64_t> counts{3, 0, 7, 2};  // expert 1 gets no rows
  const int64_t rows = 12;
  const int64_t first_rows = c.input == Input::kFusedGateUp ? 2 * I : I;
  DenseExperts d;
  d.input = c.input;
  d.act = c.act;
  auto weights = [&](int64_t out, int64_t in) {
    if (c.stacked) return std::vector<at::Tensor>{leaf({E, out, in})};
    std::vector<at::Tensor> list;
    for (int64_t e = 0; e < E; ++e) list.push_back(leaf({out, in}));
    return list;
  };
  d.first = weights(first_rows, H);
  if (c.input == Input::kGateAndUp) d.second = weights(I, H);
  d.down = weights(H, I);
  auto x = leaf({rows, H});
  auto scale = c.scaled ? leaf({rows, 1}) : at::Tensor();
  auto grad_out = at::randn({rows, H}, kF32);

  auto grouped = run_dense_experts(d, x, scale, counts);
  grouped.backward(grad_out);
  auto collect = [&] {
    std::vector<at::Tensor> grads{x.grad().clone(), scale.defined() ? scale.grad().clone() : at::Tensor()};
    for (auto* list : {&d.first, &d.second, &d.down})
      for (auto& w : *list) grads.push_back(w.grad().defined() ? w.grad().clone() : at::Tensor());
    return grads;
  };
  auto got = collect();
  for (auto* t : {&x, &scale}) if (t->defined()) t->mutable_grad().reset();
  for (auto* list : {&d.first, &d.second, &d.down}) for (auto& w : *list) w.mutable_grad().reset();

  std::vector<at::Tensor> outputs;
  int64_t row = 0;
  for (int64_t e = 0; e < E; ++e) {
    if (counts[e] > 0) outputs.push_back(one_expert(d, e, x.narrow(0, row, counts[e])));
    row += counts[e];
  }
  auto reference = at::cat(outputs);
  if (scale.defined()) reference = reference * scale;
  reference.backward(grad_out);
  auto want = collect();

  expect_close(grouped, reference, "output");
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) expect_close(got[i], want[i], "gradient " + std::to_string(i));
  if (!c.stacked) EXPECT_FALSE(d.down[1].grad().defined()) << "an expert without rows gets no gradient";
}

INSTANTIATE_TEST_SUITE_P(
    LayoutsAndActivations, GroupedExperts,
    ::testing::Values(Case{Input::kGateAndUp, Activation::kSilu, false, true},
                    Case{Input::kGateAndUp, Activation::kGeluTanh, false, false},
                    Case{Input::kFusedGateUp, Activation::kSilu, true, true},
                    Case{Input::kFusedGateUp, Activation::kQuickGelu, false, true},
                    Case{Input::kFusedGateUp, Activation::kGeluExact, true, false},
                    Case{Input::kUp, Activation::kRelu2, true, true},
                    Case{Input::kUp, Activation::kRelu, false, false}),
    [](const ::testing::TestParamInfo<Case>& info) {
      const auto& c = info.param;
      std::string input = c.input == Input::kGateAndUp ? "GateAndUp" : c.input == Input::kFusedGateUp ? "FusedGateUp" : "Up";
      return input + "Activation" + std::to_string(static_cast<int>(c.act)) + (c.stacked ? "Stacked" : "PerExpert") +
             (c.scaled ? "Scaled" : "");
    });

TEST(GroupedExpertsInput, RowCountsThatDoNotSumToTheRowsAreAnError) {
  DenseExperts d;
  d.input = Input::kUp;
  d.first = {at::randn({2, 3, 4}, kF32)};
  d.down = {at::randn({2, 4, 3}, kF32)};
  auto message = testing::error_message_of<Error>([&] { run_dense_experts(d, at::randn({5, 4}, kF32), {}, {2, 2}); });
  EXPECT_NE(message.find("sum to 4, x has 5 rows"), std::string::npos) << message;
}

TEST(Activations, HandWrittenBackwardsMatchAutogradOfActivate) {
  for (auto act : {Activation::kSilu, Activation::kGeluExact, Activation::kGeluTanh, Activation::kRelu,
                   Activation::kQuickGelu, Activation::kRelu2}) {
    auto x = leaf({7, 3});
    auto grad = at::randn({7, 3}, kF32);
    activate(act, x).backward(grad);
    EXPECT_TRUE(at::allclose(activation_backward(act, grad, x.detach()), x.grad(), 1e-5, 1e-6))
        << "activation " << static_cast<int>(act);
  }
}

}  // namespace
}  // namespace automodel::models
