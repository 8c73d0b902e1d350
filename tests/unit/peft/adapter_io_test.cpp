// PEFT adapter files written and read back: keys under "base_model.model.", strict loading into
// attached adapters (resume), and load_adapter attaching what a folder holds (generate, merge).
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/randint.h>

#include "automodel/common/error.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/weights.h"
#include "automodel/peft/lora.h"
#include "automodel/peft/lora_linear.h"
#include "peft_test_util.h"
#include "test_util.h"

namespace automodel::peft {
namespace {

using testing::lora_on;
using testing::tiny_llama;
using automodel::testing::TempDir;

config::PeftSection attention_targets() { return lora_on({"q_proj", "v_proj"}, 16); }

// A tiny llama with adapters whose B is not zero (so they change the output).
std::unique_ptr<models::CausalLM> trained_model(uint64_t seed, std::vector<std::string>* targets = nullptr) {
  auto model = tiny_llama();
  auto names = apply_lora(*model, attention_targets(), seed);
  if (targets) *targets = names;
  at::NoGradGuard no_grad;
  at::manual_seed(seed);
  for (const auto& p : model->named_parameters())
    if (p.name.ends_with("lora_B.weight")) p.tensor->normal_();
  return model;
}

at::Tensor logits_of(models::CausalLM& model) {
  auto ids = at::arange(1, 9, at::kLong).view({1, 8});
  return model.logits(model.forward({ids}).hidden);
}

TEST(AdapterIo, SavedKeysArePeftsAndHoldOnlyTheAdapter) {
  TempDir dir;
  std::vector<std::string> targets;
  auto model = trained_model(1, &targets);
  save_adapter(*model, attention_targets(), targets, "tiny", dir.path());
  auto file = hf::SafetensorsCheckpoint::open(dir.path() / "adapter_model.safetensors");
  EXPECT_EQ(file.names().size(), 2 * targets.size());
  for (const auto& key : file.names()) {
    EXPECT_TRUE(key.starts_with("base_model.model.")) << key;
    EXPECT_TRUE(is_adapter_parameter(module_of_adapter_key(key))) << key;
  }
  EXPECT_TRUE(file.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
}

TEST(AdapterIo, LoadAdapterWeightsRestoresAttachedAdaptersInPlace) {
  TempDir dir;
  std::vector<std::string> targets;
  auto saved = trained_model(1, &targets);
  save_adapter(*saved, attention_targets(), targets, "tiny", dir.path());
  auto resumed = trained_model(2);
  for (const auto& p : resumed->named_parameters()) p.tensor->set_requires_grad(is_adapter_parameter(p.name));
  ASSERT_FALSE(at::equal(logits_of(*resumed), logits_of(*saved)));
  load_adapter_weights(*resumed, dir.path() / "adapter_model.safetensors");
  EXPECT_TRUE(at::equal(logits_of(*resumed), logits_of(*saved)));
  for (const auto& p : resumed->named_parameters())
    EXPECT_EQ(p.tensor->requires_grad(), is_adapter_parameter(p.name)) << p.name;
}

TEST(AdapterIo, LoadAdapterWeightsIsStrict) {
  TempDir dir;
  std::vector<std::string> targets;
  auto saved = trained_model(1, &targets);
  save_adapter(*saved, attention_targets(), targets, "tiny", dir.path());
  const auto file = dir.path() / "adapter_model.safetensors";
  // More adapters attached than the file holds: missing tensors.
  auto wider = tiny_llama();
  auto all = attention_targets();
  all.target_modules = {"*_proj"};
  apply_lora(*wider, all, 1);
  EXPECT_THROW(load_adapter_weights(*wider, file), Error);
  // Fewer: the file's extra tensors are unexpected.
  auto narrower = tiny_llama();
  auto q_only = attention_targets();
  q_only.target_modules = {"q_proj"};
  apply_lora(*narrower, q_only, 1);
  EXPECT_THROW(load_adapter_weights(*narrower, file), Error);
  // Another rank: shapes differ.
  auto other_rank = tiny_llama();
  auto r2 = attention_targets();
  r2.dim = 2;
  apply_lora(*other_rank, r2, 1);
  EXPECT_THROW(load_adapter_weights(*other_rank, file), Error);
}

TEST(AdapterIo, LoadAdapterAttachesWhatTheFolderHoldsAndMergesLikeTheTrainedModel) {
  TempDir dir;
  std::vector<std::string> targets;
  auto saved = trained_model(1, &targets);
  save_adapter(*saved, attention_targets(), targets, "tiny", dir.path());
  auto loaded = tiny_llama();
  load_adapter(*loaded, dir.path());
  for (const auto& name : targets) {
    auto* lora = dynamic_cast<LoraLinear*>(loaded->find_module(name));
    ASSERT_NE(lora, nullptr) << name;
    EXPECT_DOUBLE_EQ(lora->scale(), 16.0 / 4.0);
  }
  EXPECT_TRUE(at::equal(logits_of(*loaded), logits_of(*saved)));
  auto a = models::hf_state_dict(*saved), b = models::hf_state_dict(*loaded);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first;
  }
}

}  // namespace
}  // namespace automodel::peft
