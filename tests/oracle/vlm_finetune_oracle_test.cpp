// FinetuneRecipeForVLM end to end on a tiny LLaVA (tests/oracles/tiny_vlm.py) and the LLaVA demo
// conversations: the loss falls; the consolidated folder of a full fine-tune loads in transformers
// and gives our logits; a LoRA run's adapter loads in PEFT on the base and gives the logits of our
// merged (consolidated) folder; freeze_config leaves the vision tower and embeddings as they were.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>

#include "automodel/common/atomic_file.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/safetensors.h"
#include "integration/finetune_util.h"
#include "oracle/tiny_vlm.h"
#include "parity/debug_forward_parity.h"

namespace automodel {
namespace {

std::string vlm_recipe(const TempDir& dir, const std::string& extra, const std::string& family = "llava") {
  auto text = fmt::format(R"(
recipe: FinetuneRecipeForVLM
seed: 7
model:
  _target_: nemo_automodel.NeMoAutoModelForImageTextToText.from_pretrained
  pretrained_model_name_or_path: {}
dataset:
  _target_: nemo_automodel.components.datasets.vlm.datasets.make_meta_dataset
  path_or_dataset: {}
dataloader:
  collate_fn:
    _target_: nemo_automodel.components.datasets.vlm.collate_fns.default_collate_fn
step_scheduler:
  global_batch_size: 2
  local_batch_size: 2
  max_steps: 9
  num_epochs: 10
optimizer:
  _target_: torch.optim.AdamW
  lr: 3.0e-3
checkpoint:
  checkpoint_dir: {}
  save_consolidated: final
{}
)", testing::tiny_vlm_dir(family).string(), testing::vlm_demo_rows().string(), (dir / "ckpt").string(), extra);
  auto path = dir / "recipe.yaml";
  std::ofstream(path) << text;
  return path.string();
}

std::vector<double> losses(const fs::path& ckpt) {
  std::vector<double> out;
  for (const auto& row : read_jsonl(ckpt / "training.jsonl"))
    if (row.contains("loss") && !row.contains("val_loss")) out.push_back(row["loss"].get<double>());
  return out;
}

// transformers' logits of `model` (+ PEFT `adapter`), written to `expected`, against our debug
// forward of `ours`.
void expect_transformers_logits(const fs::path& model, const std::string& adapter, const fs::path& ours,
                                const fs::path& expected, const TempDir& tmp) {
  auto r = run_command(fmt::format("'{}' '{}' '{}' '{}' {} 2>&1", testing::python(),
                                   testing::oracle_script("hf_vlm_logits.py").string(), model.string(),
                                   expected.string(), adapter.empty() ? "" : "'" + adapter + "'"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto got = tmp / "ours.safetensors";
  auto d = testing::run_debug_forward(ours, expected, got, "--grads none");
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_EQ(testing::expect_every_tensor_matches(expected, got, ours.string()), 1);  // the logits
}

class VlmFinetune : public ::testing::Test {
 protected:
  void SetUp() override { AUTOMODEL_REQUIRE_ORACLE("torch transformers peft safetensors"); }
};

TEST_F(VlmFinetune, FullFineTuneLossFallsAndConsolidatedFolderGivesOurLogitsInTransformers) {
  TempDir tmp;
  auto run = train(vlm_recipe(tmp, "freeze_config: {freeze_embeddings: true, freeze_vision_tower: true}"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto l = losses(tmp / "ckpt");
  ASSERT_EQ(l.size(), 9u);
  EXPECT_LT(l.back(), l.front() - 1.0) << "loss did not fall";
  auto folder = tmp / "ckpt" / "epoch_2_step_9" / "model" / "consolidated";
  ASSERT_TRUE(fs::exists(folder / "model.safetensors")) << run.output;
  // freeze_config: the vision tower and the token embeddings are the base's, the projector is not.
  auto base = hf::SafetensorsCheckpoint::open(testing::tiny_llava_dir());
  auto trained = hf::SafetensorsCheckpoint::open(folder);
  auto same = [&](const std::string& name) {
    return at::equal(borrow_view(base.get(name)), borrow_view(trained.get(name)));
  };
  EXPECT_TRUE(same("vision_tower.encoder.layers.0.self_attn.q_proj.weight"));
  EXPECT_TRUE(same("language_model.model.embed_tokens.weight"));
  EXPECT_FALSE(same("multi_modal_projector.linear_1.weight"));
  EXPECT_FALSE(same("language_model.model.layers.0.self_attn.q_proj.weight"));
  ASSERT_NO_FATAL_FAILURE(expect_transformers_logits(folder, "", folder, tmp / "hf.safetensors", tmp));
}

// Qwen2-VL (M-RoPE positions, patch rows; freeze_vision_tower covers its merger, under visual.*, as
// AutoModel freezes it) and Gemma 3 (pooled projector, bidirectional image attention, textual image
// expansion): a full fine-tune's consolidated folder gives our logits in transformers.
struct FullFineTuneCase {
  std::string family;
  std::vector<std::string> frozen, trained;
  double min_drop;  // of the loss over the 9 steps (Gemma's head is its frozen, tied embedding: slower)
};

class VlmFullFineTune : public ::testing::TestWithParam<FullFineTuneCase> {
 protected:
  void SetUp() override { AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors"); }
};

TEST_P(VlmFullFineTune, ConsolidatedFolderGivesOurLogitsInTransformersAndFrozenPartsStay) {
  const auto& c = GetParam();
  TempDir tmp;
  auto run = train(vlm_recipe(tmp, "freeze_config: {freeze_embeddings: true, freeze_vision_tower: true}", c.family));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto l = losses(tmp / "ckpt");
  ASSERT_EQ(l.size(), 9u);
  EXPECT_LT(l.back(), l.front() - c.min_drop) << "loss did not fall";
  auto folder = tmp / "ckpt" / "epoch_2_step_9" / "model" / "consolidated";
  auto base = hf::SafetensorsCheckpoint::open(testing::tiny_vlm_dir(c.family));
  auto trained = hf::SafetensorsCheckpoint::open(folder);
  auto same = [&](const std::string& name) {
    return at::equal(borrow_view(base.get(name)), borrow_view(trained.get(name)));
  };
  for (const auto& name : c.frozen) EXPECT_TRUE(same(name)) << name;
  for (const auto& name : c.trained) EXPECT_FALSE(same(name)) << name;
  ASSERT_NO_FATAL_FAILURE(expect_transformers_logits(folder, "", folder, tmp / "hf.safetensors", tmp));
}

INSTANTIATE_TEST_SUITE_P(
    Families, VlmFullFineTune,
    ::testing::Values(FullFineTuneCase{"qwen2_vl",
                                       {"visual.blocks.0.attn.qkv.weight", "visual.merger.mlp.0.weight",
                                        "model.embed_tokens.weight"},
                                       {"model.layers.0.self_attn.q_proj.weight"},
                                       1.0},
                      FullFineTuneCase{"gemma3",
                                       {"vision_tower.encoder.layers.0.self_attn.q_proj.weight",
                                        "language_model.model.embed_tokens.weight"},
                                       {"multi_modal_projector.mm_input_projection_weight",
                                        "language_model.model.layers.0.self_attn.q_proj.weight"},
                                       0.3},
                      FullFineTuneCase{"idefics3",
                                       {"model.vision_model.encoder.layers.0.self_attn.q_proj.weight",
                                        "model.text_model.embed_tokens.weight"},
                                       {"model.connector.modality_projection.proj.weight",
                                        "model.text_model.layers.0.self_attn.q_proj.weight"},
                                       0.5}),
    [](const auto& info) { return info.param.family; });

// processor.min_pixels / max_pixels (AutoModel's Qwen recipes set them) shrink Qwen2-VL's images and
// so their tokens; a fixed-size processor (LLaVA's CLIP) refuses them.
TEST_F(VlmFinetune, ProcessorPixelBudgetTakesEffectForPatchProcessorsAndIsAnErrorForFixedSizeOnes) {
  TempDir tmp;
  auto tokens_of = [&](const std::string& family, const std::string& args) {
    auto run = train(vlm_recipe(tmp, "", family), "--step_scheduler.max_steps=1 --checkpoint.enabled=false " + args);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    auto at = run.output.find(" tokens (");  // "dataset: ... images (...), N tokens (M in the loss)"
    auto start = run.output.rfind(' ', at - 1);
    return at == std::string::npos ? std::string() : run.output.substr(start + 1, at - start - 1);
  };
  auto full = tokens_of("qwen2_vl", "");
  auto small = tokens_of("qwen2_vl", "--processor.max_pixels=3136");
  ASSERT_FALSE(full.empty());
  EXPECT_LT(std::stod(small), std::stod(full)) << small << " vs " << full;
  auto llava = train(vlm_recipe(tmp, "", "llava"), "--processor.max_pixels=3136");
  EXPECT_NE(llava.exit_code, 0);
  EXPECT_NE(llava.output.find("only patch processors (Qwen2-VL) take a pixel budget"), std::string::npos)
      << llava.output;
}

// The adapter's target_modules regex names the language model as transformers holds it
// (language_model, Idefics3's text_model), so PEFT finds every adapted module. With AutoModel's
// exclude-only rule (its VLM recipes' list) the projector's linear layers are adapted too (Idefics3's
// connector), and the regex names them; a transformers 4 layout's projector (LLaVA's, which
// transformers 5 still writes) stays without LoRA, as PEFT would not load its keys.
struct LoraCase {
  std::string family, peft;
  std::string projector_key;  // an adapter tensor the run must write ("": none of the projector)
};

class VlmLora : public ::testing::TestWithParam<LoraCase> {
 protected:
  void SetUp() override { AUTOMODEL_REQUIRE_ORACLE("torch transformers peft safetensors"); }
};

TEST_P(VlmLora, AdapterLoadsInPeftAndGivesOurConsolidatedLogits) {
  const auto& c = GetParam();
  TempDir tmp;
  const auto base_dir = testing::tiny_vlm_dir(c.family);
  auto run = train(vlm_recipe(tmp, c.peft, c.family));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto l = losses(tmp / "ckpt");
  ASSERT_EQ(l.size(), 9u);
  EXPECT_LT(l.back(), l.front()) << "loss did not fall";
  auto adapter = tmp / "ckpt" / "epoch_2_step_9" / "model";
  ASSERT_TRUE(fs::exists(adapter / "adapter_model.safetensors")) << run.output;
  const auto tensors = hf::SafetensorsCheckpoint::open(adapter / "adapter_model.safetensors").names();
  const auto projector = std::count_if(tensors.begin(), tensors.end(), [](const std::string& n) {
    return n.find("projector") != std::string::npos || n.find("connector") != std::string::npos;
  });
  if (c.projector_key.empty()) EXPECT_EQ(projector, 0);
  else EXPECT_NE(std::find(tensors.begin(), tensors.end(), c.projector_key), tensors.end()) << c.projector_key;
  const auto expected = tmp / "hf.safetensors";
  ASSERT_NO_FATAL_FAILURE(
      expect_transformers_logits(base_dir, adapter.string(), adapter / "consolidated", expected, tmp));
  // The adapter matters: the base alone is far from PEFT's base + adapter.
  ASSERT_EQ(testing::run_debug_forward(base_dir, expected, tmp / "base.safetensors", "--grads none").exit_code, 0);
  auto want = borrow_view(hf::SafetensorsCheckpoint::open(expected).get("logits"));
  auto base = borrow_view(hf::SafetensorsCheckpoint::open(tmp / "base.safetensors").get("logits"));
  EXPECT_GT((base - want).abs().max().item<double>() / want.abs().max().item<double>(), 1e-3);
}

const char* kLoraExcludingTowers = R"(
peft:
  _target_: nemo_automodel.components._peft.lora.PeftConfig
  exclude_modules: ["*vision*", "*visual*", "*lm_head*"]
  dim: 8
  alpha: 32
)";

INSTANTIATE_TEST_SUITE_P(
    Families, VlmLora,
    ::testing::Values(LoraCase{"llava", kLora, ""}, LoraCase{"idefics3", kLora, ""},
                      LoraCase{"llava", kLoraExcludingTowers, ""},
                      LoraCase{"idefics3", kLoraExcludingTowers,
                               "base_model.model.model.connector.modality_projection.proj.lora_B.weight"}),
    [](const auto& info) {
      return info.param.family + (info.param.peft == kLora ? "_proj_modules" : "_excluding_towers");
    });

// `automodel generate --image` renders the user turn with the processor's template, expands the
// image token and reads the image with the prompt: greedy text equals transformers' generate.
class VlmGenerate : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors"); }
};

// Qwen2-VL's tokens after the prompt continue M-RoPE from the images' largest position.
TEST_P(VlmGenerate, GenerateWithAnImageGivesTransformersGreedyText) {
  const auto model = testing::tiny_vlm_dir(GetParam(), /*perturbed=*/true).string();
  const auto image = (testing::fixtures_dir() / "images" / "llamafactory_3.jpg").string();
  TempDir tmp;
  auto hf = run_command(fmt::format("'{}' '{}' '{}' '{}' 'What is he doing?' 12 '{}' 2>&1", testing::python(),
                                    testing::oracle_script("hf_vlm_generate.py").string(), model, image,
                                    (tmp / "hf.txt").string()));
  ASSERT_EQ(hf.exit_code, 0) << hf.output;
  const auto expected = read_file(tmp / "hf.txt");
  ASSERT_FALSE(expected.empty());
  auto ours = run_command(fmt::format("{} generate --model '{}' --image '{}' --prompt 'What is he doing?' "
                                      "--max-new-tokens 12 2>/dev/null",
                                      testing::automodel_binary(), model, image));
  ASSERT_EQ(ours.exit_code, 0) << ours.output;
  EXPECT_EQ(ours.output, expected + "\n");
}

INSTANTIATE_TEST_SUITE_P(Families, VlmGenerate, ::testing::Values("llava", "qwen2_vl", "gemma3", "idefics3", "smolvlm"));

}  // namespace
}  // namespace automodel
