// Training building blocks against references: the fused linear cross-entropy vs ATen's
// cross_entropy (value and gradients), packed vs unpacked loss on a real model, lr schedules.
#include <gtest/gtest.h>

#include <map>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <nlohmann/json.hpp>

#include "automodel/data/loader.h"
#include "automodel/data/packing.h"
#include "automodel/models/common/causal_lm.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "automodel/peft/lora.h"
#include "automodel/train/adamw.h"
#include "automodel/train/linear_cross_entropy.h"
#include "automodel/train/lr_schedule.h"
#include "test_util.h"

namespace automodel::train {
namespace {

double max_rel(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

TEST(LinearCrossEntropy, MatchesCrossEntropyOfFullLogitsInValueAndGradients) {
  at::manual_seed(3);
  auto hidden = at::randn({3, 17, 32}, at::kFloat).set_requires_grad(true);
  auto weight = at::randn({101, 32}, at::kFloat).mul_(0.3).set_requires_grad(true);
  auto targets = at::randint(0, 101, {3, 17}, at::kLong);
  targets.index_put_({0, at::indexing::Slice(0, 5)}, -100);  // ignored prompt tokens
  auto ref = at::cross_entropy_loss(at::matmul(hidden, weight.t()).view({-1, 101}), targets.view(-1), {},
                                    at::Reduction::Sum, -100);
  auto ref_grads = torch::autograd::grad({ref}, {hidden, weight});
  for (int64_t chunk : {7, 1000}) {  // several chunks and one
    auto got = linear_cross_entropy_sum(hidden, weight, targets, chunk);
    EXPECT_LE(std::abs(got.item<double>() - ref.item<double>()) / ref.item<double>(), 1e-6);
    auto grads = torch::autograd::grad({got * 0.5}, {hidden, weight});
    EXPECT_LE(max_rel(grads[0], ref_grads[0] * 0.5), 1e-5) << chunk;
    EXPECT_LE(max_rel(grads[1], ref_grads[1] * 0.5), 1e-5) << chunk;
  }
}

TEST(LinearCrossEntropy, AppliesTheHeadsScaleAndSoftcapExactlyAsTheModelsLogits) {
  at::manual_seed(4);
  auto hidden = at::randn({2, 9, 16}, at::kFloat).set_requires_grad(true);
  auto weight = at::randn({37, 16}, at::kFloat).set_requires_grad(true);
  auto targets = at::randint(0, 37, {2, 9}, at::kLong);
  targets.index_put_({1, at::indexing::Slice(0, 3)}, -100);
  for (auto [scale, softcap] : {std::pair{0.25, 0.0}, std::pair{1.0, 2.5}, std::pair{0.5, 3.0}}) {
    automodel::models::OutputHead head{weight, scale, softcap};
    auto logits = head.finish(at::matmul(hidden, weight.t()));  // what CausalLM::logits gives
    auto ref = at::cross_entropy_loss(logits.view({-1, 37}), targets.view(-1), {}, at::Reduction::Sum, -100);
    auto ref_grads = torch::autograd::grad({ref}, {hidden, weight});
    auto got = linear_cross_entropy_sum(hidden, head, targets, 5);
    EXPECT_LE(std::abs(got.item<double>() - ref.item<double>()) / ref.item<double>(), 1e-6) << scale << " " << softcap;
    auto grads = torch::autograd::grad({got}, {hidden, weight});
    EXPECT_LE(max_rel(grads[0], ref_grads[0]), 1e-5) << scale << " " << softcap;
    EXPECT_LE(max_rel(grads[1], ref_grads[1]), 1e-5) << scale << " " << softcap;
  }
}

// Phi's LM head has a bias: the fused loss adds it before scale and softcap, with its gradient.
TEST(LinearCrossEntropy, AddsTheHeadsBiasWithItsGradient) {
  at::manual_seed(5);
  auto hidden = at::randn({2, 7, 16}, at::kFloat).set_requires_grad(true);
  auto weight = at::randn({23, 16}, at::kFloat).set_requires_grad(true);
  auto bias = at::randn({23}, at::kFloat).set_requires_grad(true);
  auto targets = at::randint(0, 23, {2, 7}, at::kLong);
  automodel::models::OutputHead head{weight, 0.5, 3.0, bias};
  auto logits = head.finish(at::matmul(hidden, weight.t()) + bias);  // what CausalLM::logits gives
  auto ref = at::cross_entropy_loss(logits.view({-1, 23}), targets.view(-1), {}, at::Reduction::Sum, -100);
  auto ref_grads = torch::autograd::grad({ref}, {hidden, weight, bias});
  auto got = linear_cross_entropy_sum(hidden, head, targets, 4);
  EXPECT_LE(std::abs(got.item<double>() - ref.item<double>()) / ref.item<double>(), 1e-6);
  auto grads = torch::autograd::grad({got}, {hidden, weight, bias});
  for (size_t i = 0; i < 3; ++i) EXPECT_LE(max_rel(grads[i], ref_grads[i]), 1e-5) << i;
}

TEST(LinearCrossEntropy, FrozenWeightGetsNoGradient) {
  auto hidden = at::randn({4, 8}).set_requires_grad(true);
  auto weight = at::randn({11, 8});
  auto loss = linear_cross_entropy_sum(hidden, weight, at::randint(0, 11, {4}, at::kLong));
  loss.backward();
  EXPECT_TRUE(hidden.grad().defined());
  EXPECT_FALSE(weight.grad().defined());
}

TEST(Packing, PackedAndUnpackedDocumentsGiveTheSameLoss) {
  auto model = models::load_pretrained((testing::fixtures_dir() / "stories260K").string());
  std::vector<data::Sample> docs;
  for (int n : {30, 45, 20, 61}) {
    std::vector<int32_t> ids;
    for (int i = 0; i < n; ++i) ids.push_back(3 + (i * 37 + n) % 500);
    docs.push_back(data::make_sample(ids, std::vector<uint8_t>(ids.size(), 1)));
  }
  auto loss_of = [&](const std::vector<data::TrainingRow>& rows) {
    std::vector<const data::TrainingRow*> ptrs;
    for (const auto& r : rows) ptrs.push_back(&r);
    auto b = data::collate(ptrs, 0);
    auto tensor = [&](const std::vector<int32_t>& v) {
      return at::from_blob(const_cast<int32_t*>(v.data()), {b.rows, b.length}, at::kInt).to(at::kLong);
    };
    models::ModelInputs in;
    in.input_ids = tensor(b.ids);
    in.position_ids = tensor(b.positions);
    if (b.packed) in.document_ids = tensor(b.documents);
    at::NoGradGuard no_grad;
    return linear_cross_entropy_sum(model->forward(in).hidden, model->output_embedding(), tensor(b.targets))
        .item<double>();
  };
  std::vector<data::TrainingRow> unpacked;
  for (const auto& d : docs) unpacked.push_back(data::to_row(d));
  auto packed = data::pack_samples(docs, 100);
  ASSERT_EQ(packed.size(), 2u);
  double a = loss_of(unpacked), b = loss_of(packed);
  EXPECT_LE(std::abs(a - b) / a, 1e-5) << a << " vs " << b;
}

// Gradients of every trainable parameter with LoRA dropout, with and without recomputation.
TEST(ActivationCheckpointing, GivesTheSameGradientsIncludingDropout) {
  auto grads_of = [](bool checkpointing) {
    auto model = models::load_pretrained((testing::fixtures_dir() / "stories260K").string());
    config::PeftSection peft;
    peft.enabled = true;
    peft.target_modules = {"*_proj"};
    peft.dropout = 0.3;
    peft::apply_lora(*model, peft, 5);
    // LoRA B starts at zero; make it non-zero so that A gets gradients too.
    for (const auto& p : model->named_parameters())
      if (p.name.find("lora_B") != std::string::npos) p.tensor->normal_(0, 0.1);
    for (const auto& p : model->named_parameters()) p.tensor->set_requires_grad(p.name.find(".lora_") != std::string::npos);
    model->set_training(true);
    model->set_activation_checkpointing(checkpointing);
    at::manual_seed(11);
    models::ModelInputs in;
    in.input_ids = at::arange(1, 65, at::kLong).view({2, 32});
    auto targets = at::arange(2, 66, at::kLong).view({2, 32});
    linear_cross_entropy_sum(model->forward(in).hidden, model->output_embedding(), targets).backward();
    std::vector<at::Tensor> grads;
    for (const auto& p : model->named_parameters())
      if (p.tensor->requires_grad()) grads.push_back(p.tensor->grad().clone());
    return grads;
  };
  auto plain = grads_of(false), recomputed = grads_of(true);
  ASSERT_EQ(plain.size(), recomputed.size());
  ASSERT_EQ(plain.size(), 70u);
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_LE(max_rel(recomputed[i], plain[i]), 1e-6) << i;
}

// A mixture-of-experts layer has two differentiable outputs (hidden state, router logits); the
// load-balancing loss reaches the router through the second one, also when recomputed.
TEST(ActivationCheckpointing, GivesTheSameGradientsForMixtureOfExpertsWithTheRouterLoss) {
  auto config = nlohmann::json::parse(models::find_architecture("mixtral").tiny_config_json);
  config["output_router_logits"] = true;
  config["router_aux_loss_coef"] = 0.5;
  auto grads_of = [&config](bool checkpointing) {
    auto model = models::build_model(hf::parse_model_config(config.dump(), "tiny mixtral"), at::kFloat, at::kCPU);
    models::init_random(*model, 3);
    for (const auto& p : model->named_parameters()) p.tensor->set_requires_grad(true);
    model->set_activation_checkpointing(checkpointing);
    models::ModelInputs in;
    in.input_ids = at::arange(1, 49, at::kLong).view({2, 24});
    auto out = model->forward(in);
    auto aux = model->auxiliary_loss(out);
    EXPECT_TRUE(aux.defined() && aux.requires_grad());
    (linear_cross_entropy_sum(out.hidden, model->output_embedding(), in.input_ids) + aux * 100).backward();
    std::vector<std::pair<std::string, at::Tensor>> grads;
    for (const auto& p : model->named_parameters())
      grads.emplace_back(p.name, p.tensor->grad().defined() ? p.tensor->grad().clone() : at::Tensor());
    return grads;
  };
  auto plain = grads_of(false), recomputed = grads_of(true);
  ASSERT_EQ(plain.size(), recomputed.size());
  int routers = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    ASSERT_EQ(plain[i].second.defined(), recomputed[i].second.defined()) << plain[i].first;
    if (!plain[i].second.defined()) continue;
    EXPECT_LE(max_rel(recomputed[i].second, plain[i].second), 1e-6) << plain[i].first;
    if (plain[i].first.find(".gate.weight") != std::string::npos) ++routers;
  }
  EXPECT_EQ(routers, 2);  // both layers' routers got gradients
}

TEST(LrSchedule, WarmupThenCosineLinearAndWsdReachMinLr) {
  config::LrSchedulerSection s;
  s.enabled = true;
  s.warmup_steps = 4;
  s.min_lr = 0.1;
  s.decay_style = "cosine";
  LrSchedule cosine(s, 1.0, 24);
  EXPECT_DOUBLE_EQ(cosine.at(0), 0.25);
  EXPECT_DOUBLE_EQ(cosine.at(3), 1.0);
  EXPECT_DOUBLE_EQ(cosine.at(4), 1.0);
  EXPECT_NEAR(cosine.at(14), 0.55, 1e-12);  // halfway: min + (max - min) / 2
  EXPECT_DOUBLE_EQ(cosine.at(24), 0.1);
  s.decay_style = "linear";
  EXPECT_NEAR(LrSchedule(s, 1.0, 24).at(14), 0.55, 1e-12);
  s.decay_style = "WSD";
  s.wsd_decay_steps = 10;
  LrSchedule wsd(s, 1.0, 24);
  EXPECT_DOUBLE_EQ(wsd.at(13), 1.0);  // stable until the last 10 steps
  EXPECT_NEAR(wsd.at(19), 0.55, 1e-12);
  config::LrSchedulerSection none;
  EXPECT_DOUBLE_EQ(LrSchedule(none, 0.3, 10).at(7), 0.3);  // no section: constant
}

TEST(AdamW, FirstStepMovesEachWeightByLrAgainstItsGradientSign) {
  auto w = at::zeros({3}).set_requires_grad(true);
  w.mutable_grad() = at::tensor({0.5f, -2.0f, 1e-3f});
  config::OptimizerSection o;
  o.eps = 1e-12;
  AdamW opt({{"w", &w}}, o);
  opt.step(0.1);
  EXPECT_LE((w - at::tensor({-0.1f, 0.1f, -0.1f})).abs().max().item<double>(), 1e-6);
  EXPECT_NEAR(clip_grad_norm({{"w", &w}}, 1.0), std::sqrt(0.25 + 4.0 + 1e-6), 1e-6);
  EXPECT_NEAR(w.grad().norm().item<double>(), 1.0, 1e-5);
}

// As HF (v5) + torch: a routed expert that no token reached has a zero gradient there (experts
// are fused tensors), so AdamW still steps it: decayed, its moments decayed, its step counted.
// Step counts are saved per parameter so a resumed run continues the same way.
TEST(AdamW, StepsParametersWithoutGradientAsWithAZeroGradient) {
  auto used = at::zeros({2}).set_requires_grad(true), idle = at::ones({2}).set_requires_grad(true);
  config::OptimizerSection o;
  o.eps = 1e-12;
  o.weight_decay = 0.1;
  const double lr = 0.1, b1 = o.beta1, b2 = o.beta2;
  // torch's AdamW on one scalar, for idle's gradients 0 (none), 3, -3.
  double ref = 1.0, m = 0, v = 0;
  auto ref_step = [&](double g, int t) {
    ref *= 1 - lr * o.weight_decay;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    ref -= lr * (m / (1 - std::pow(b1, t))) / (std::sqrt(v / (1 - std::pow(b2, t))) + o.eps);
  };
  AdamW opt({{"used", &used}, {"idle", &idle}}, o);
  used.mutable_grad() = at::tensor({1.0f, -1.0f});
  opt.step(lr);
  ref_step(0.0, 1);
  EXPECT_NEAR(idle[0].item<double>(), ref, 1e-6);
  EXPECT_NEAR(idle[0].item<double>(), 0.99, 1e-6);  // only decayed: a zero gradient moves nothing else
  idle.mutable_grad() = at::tensor({3.0f, -3.0f});
  opt.step(lr);
  ref_step(3.0, 2);
  EXPECT_NEAR(idle[0].item<double>(), ref, 1e-6);
  std::map<std::string, double> steps;
  for (const auto& [name, t] : opt.state())
    if (name.size() > 5 && name.substr(name.size() - 5) == ".step") steps[name] = t.item<double>();
  EXPECT_EQ(steps, (std::map<std::string, double>{{"used.step", 2.0}, {"idle.step", 2.0}}));
  AdamW restored({{"used", &used}, {"idle", &idle}}, o);
  restored.load_state(opt.state(), opt.step_count());
  idle.mutable_grad() = at::tensor({-3.0f, 3.0f});
  restored.step(lr);
  ref_step(-3.0, 3);
  EXPECT_NEAR(idle[0].item<double>(), ref, 1e-6);
}

}  // namespace
}  // namespace automodel::train
