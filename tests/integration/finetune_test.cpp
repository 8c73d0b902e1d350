// Fine-tuning end to end through the CLI on stories260K (a real pretrained Llama) and GSM8K:
// loss invariance, LoRA/PEFT files and merge, consolidated export, exact resume after SIGKILL,
// a full disk during a save, and config typos.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "automodel/common/atomic_file.h"
#include "automodel/data/rows.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/registry.h"
#include "automodel/peft/lora.h"
#include "automodel/common/torch_util.h"
#include "finetune_util.h"
#include "test_util.h"

namespace automodel {
namespace {


at::Tensor logits_of(models::CausalLM& model) {
  at::NoGradGuard no_grad;
  models::ModelInputs in;
  in.input_ids = at::arange(1, 41, at::kLong).view({2, 20});
  return model.logits(model.forward(in).hidden);
}

double max_rel_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

TEST(Finetune, LossAndGradNormDoNotDependOnHowTheGlobalBatchIsSplit) {
  TempDir a, b;
  auto ra = train(write_recipe(a), "--step_scheduler.max_steps=3");
  auto rb = train(write_recipe(b), "--step_scheduler.max_steps=3 --step_scheduler.local_batch_size=1");
  ASSERT_EQ(ra.exit_code, 0) << ra.output;
  ASSERT_EQ(rb.exit_code, 0) << rb.output;
  expect_close_steps(read_jsonl(b / "ckpt" / "training.jsonl"), read_jsonl(a / "ckpt" / "training.jsonl"), 3);
}

TEST(Finetune, FullFineTuneWritesTheCheckpointTreeAndAConsolidatedFolderThatReloads) {
  TempDir dir;
  auto r = train(write_recipe(dir), "--step_scheduler.ckpt_every_steps=3 --step_scheduler.val_every_steps=3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto ckpt = dir / "ckpt";
  EXPECT_EQ(fs::read_symlink(ckpt / "LATEST"), "epoch_0_step_6");
  for (const char* f : {"epoch_0_step_3/model/model.safetensors", "epoch_0_step_3/optim/optimizer.safetensors",
                        "epoch_0_step_3/dataloader/state.json", "epoch_0_step_3/rng/rng.safetensors",
                        "epoch_0_step_3/step_scheduler.json", "epoch_0_step_3/config.yaml",
                        "epoch_0_step_6/model/consolidated/config.json",
                        "epoch_0_step_6/model/consolidated/generation_config.json",
                        "epoch_0_step_6/model/consolidated/model.safetensors",
                        "epoch_0_step_6/model/consolidated/tokenizer.json",
                        "epoch_0_step_6/model/consolidated/tokenizer_config.json"})
    EXPECT_TRUE(fs::exists(ckpt / f)) << f;
  EXPECT_FALSE(fs::exists(ckpt / "epoch_0_step_3/model/consolidated"));  // only at the end by default
  // Validation before training, at step 3 and at the end: the loss falls.
  auto val = read_jsonl(ckpt / "validation.jsonl");
  ASSERT_EQ(val.size(), 3u);
  EXPECT_LT(val.back()["val_loss"].get<double>(), val.front()["val_loss"].get<double>());
  // The consolidated folder is a complete HF model with the trained weights (step-6 model/).
  auto consolidated = models::load_pretrained((ckpt / "epoch_0_step_6/model/consolidated").string());
  auto trained = models::load_pretrained((ckpt / "epoch_0_step_6/model").string());
  auto base = models::load_pretrained(stories());
  EXPECT_TRUE(at::equal(logits_of(*consolidated), logits_of(*trained)));
  EXPECT_GT(max_rel_diff(logits_of(*consolidated), logits_of(*base)), 1e-3);
}

TEST(Finetune, LoraAdapterIsPeftFormatAndMergesToBasePlusScaledBA) {
  TempDir dir;
  auto r = train(write_recipe(dir, kLora), "--step_scheduler.max_steps=4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto adapter = dir / "ckpt" / "epoch_0_step_4" / "model";
  auto config = nlohmann::json::parse(read_file(adapter / "adapter_config.json"));
  EXPECT_EQ(config["peft_type"], "LORA");
  EXPECT_EQ(config["task_type"], "CAUSAL_LM");
  EXPECT_EQ(config["r"], 8);
  EXPECT_EQ(config["lora_alpha"], 32.0);
  EXPECT_EQ(config["target_modules"],
            (std::vector<std::string>{"down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"}));
  auto file = hf::SafetensorsCheckpoint::open(adapter / "adapter_model.safetensors");
  EXPECT_EQ(file.names().size(), 5u * 7u * 2u);  // 5 layers x 7 projections x (A, B)
  for (const auto& name : file.names()) EXPECT_TRUE(name.starts_with("base_model.model.model.layers.")) << name;
  ASSERT_TRUE(file.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));

  auto merged_dir = dir / "merged";
  auto m = run_command(testing::automodel_binary() + " merge-lora --base " + stories() + " --adapter " +
                       adapter.string() + " --out " + merged_dir.string());
  ASSERT_EQ(m.exit_code, 0) << m.output;
  auto merged_file = hf::SafetensorsCheckpoint::open(merged_dir);
  auto base_file = hf::SafetensorsCheckpoint::open(stories());
  const std::string q = "model.layers.0.self_attn.q_proj.weight";
  auto a = tensor_from_view(file.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"), at::kFloat, c10::kCPU);
  auto b = tensor_from_view(file.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"), at::kFloat, c10::kCPU);
  auto expected = tensor_from_view(base_file.get(q), at::kFloat, c10::kCPU) + (32.0 / 8.0) * at::matmul(b, a);
  auto merged = tensor_from_view(merged_file.get(q), at::kFloat, c10::kCPU);
  EXPECT_LE(max_rel_diff(merged, expected), 1e-6);
  EXPECT_GT(b.abs().max().item<double>(), 0.0);  // training moved B off zero
  EXPECT_EQ(merged_file.names(), base_file.names());  // an HF folder: no adapter tensors

  // base + adapter and the merged folder give the same logits; the consolidated one too.
  auto with_adapter = models::load_pretrained(stories());
  peft::load_adapter(*with_adapter, adapter);
  auto merged_model = models::load_pretrained(merged_dir.string());
  auto consolidated = models::load_pretrained((adapter / "consolidated").string());
  EXPECT_LE(max_rel_diff(logits_of(*merged_model), logits_of(*with_adapter)), 1e-5);
  EXPECT_TRUE(at::equal(logits_of(*consolidated), logits_of(*merged_model)));

  // `automodel consolidate` merges a checkpoint's adapter into the base named in its config.yaml.
  auto later = dir / "later";
  auto c = run_command(testing::automodel_binary() + " consolidate " + (dir / "ckpt" / "epoch_0_step_4").string() +
                       " --out " + later.string());
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_TRUE(at::equal(logits_of(*models::load_pretrained(later.string())), logits_of(*merged_model)));
}

TEST(Finetune, ResumeAfterSigkillReproducesTheUninterruptedLossesBitForBit) {
  TempDir ref, run;
  const std::string args = "--step_scheduler.max_steps=10 --step_scheduler.ckpt_every_steps=2 "
                           "--dataloader.shuffle=true --peft.dropout=0.1";
  auto r = train(write_recipe(ref, kLora), args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto expected = read_jsonl(ref / "ckpt" / "training.jsonl");
  ASSERT_EQ(expected.size(), 10u);
  auto recipe = write_recipe(run, kLora);
  std::mt19937 rng(std::random_device{}());
  // Kill twice at random moments (during steps or saves), then let it finish.
  for (int kill = 0; kill < 2; ++kill) {
    int delay_ms = 300 + static_cast<int>(rng() % 1500);
    auto k = run_command("timeout -s KILL " + std::to_string(delay_ms / 1000.0) + " " + testing::automodel_binary() +
                         " " + recipe + " " + args + " > /dev/null");
    (void)k;
  }
  auto done = train(recipe, args);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  auto got = read_jsonl(run / "ckpt" / "training.jsonl");
  expect_identical_steps(got, expected);
  for (const auto& entry : fs::directory_iterator(run / "ckpt"))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

// A run killed while writing a checkpoint leaves its hidden temporary folder (and maybe a LATEST
// link or fsdp2 staging); the next run on the folder, holding its lock, removes them.
TEST(Finetune, WritesLeftByADeadRunAreRemovedByTheNextRunOnTheFolder) {
  TempDir run;
  const auto ckpt = run / "ckpt";
  fs::create_directories(ckpt / ".epoch_0_step_2.tmp-99999" / "model");
  write_file_atomic(ckpt / ".epoch_0_step_2.tmp-99999" / "model" / "partial.safetensors", "x");
  fs::create_directories(ckpt / ".epoch_0_step_2.optimizer_rank1");
  fs::create_directory_symlink("epoch_0_step_2", ckpt / ".LATEST.tmp-99999");
  auto r = train(write_recipe(run, kLora), "--step_scheduler.max_steps=2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("removed .epoch_0_step_2.tmp-99999, left by a run that died while writing"),
            std::string::npos) << r.output;
  for (const auto& entry : fs::directory_iterator(ckpt)) {
    const auto name = entry.path().filename().string();
    EXPECT_TRUE(name.find(".tmp-") == std::string::npos && name.find(".optimizer_rank") == std::string::npos) << name;
  }
  EXPECT_TRUE(fs::is_directory(ckpt / "epoch_0_step_2"));
}

// Starts a run in the background, waits until training.jsonl has `steps` lines, then runs
// `then` (a shell snippet; $PID is the run) and waits for the run; returns its exit status.
testing::CommandResult run_then(const std::string& recipe, const std::string& args, const fs::path& jsonl, int steps,
                                const std::string& then) {
  return run_command("bash -c '" + testing::automodel_binary() + " " + recipe + " " + args +
                     " > run.log 2>&1 & PID=$!; for i in $(seq 600); do [ $(cat " + jsonl.string() +
                     " 2>/dev/null | wc -l) -ge " + std::to_string(steps) + " ] && break; sleep 0.05; done; " + then +
                     "; wait $PID; STATUS=$?; cat run.log; rm -f run.log; exit $STATUS'");
}

// SIGTERM (what Slurm, Kubernetes and `kill` send) finishes the step, saves, exits 143 naming
// the checkpoint; the resumed run reproduces the uninterrupted losses bit for bit.
TEST(Finetune, SigtermSavesACheckpointAndTheResumeIsBitExact) {
  TempDir ref, run;
  const std::string args = "--step_scheduler.max_steps=40 --dataloader.shuffle=true";
  auto r = train(write_recipe(ref, kLora), args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto recipe = write_recipe(run, kLora);
  auto stopped = run_then(recipe, args, run / "ckpt" / "training.jsonl", 3, "kill -TERM $PID");
  EXPECT_EQ(stopped.exit_code, 143) << stopped.output;
  EXPECT_NE(stopped.output.find("SIGTERM: stopped after step"), std::string::npos) << stopped.output;
  ASSERT_TRUE(fs::is_symlink(run / "ckpt" / "LATEST")) << stopped.output;
  auto saved = read_jsonl(run / "ckpt" / "training.jsonl").size();
  EXPECT_EQ(fs::read_symlink(run / "ckpt" / "LATEST"), fmt::format("epoch_0_step_{}", saved));
  EXPECT_LT(saved, 40u);
  auto done = train(recipe, args);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  expect_identical_steps(read_jsonl(run / "ckpt" / "training.jsonl"), read_jsonl(ref / "ckpt" / "training.jsonl"));
  // A second SIGTERM does not wait for the step: the process ends at once.
  TempDir twice;
  auto killed = run_then(write_recipe(twice, kLora), "--step_scheduler.max_steps=400", twice / "ckpt" / "training.jsonl",
                         1, "kill -TERM $PID; kill -TERM $PID");
  EXPECT_EQ(killed.exit_code, 143) << killed.output;
}

// One run per checkpoint_dir: a second one is refused at start naming the holder; the first is
// unaffected.
TEST(Finetune, ASecondRunOnTheSameCheckpointDirIsRefused) {
  TempDir dir;
  auto recipe = write_recipe(dir, kLora);
  auto first = run_then(recipe, "--step_scheduler.max_steps=400", dir / "ckpt" / "training.jsonl", 1,
                        testing::automodel_binary() + " " + recipe + " > second.log 2>&1; echo second exit $?; "
                        "cat second.log; kill -INT $PID");
  EXPECT_NE(first.output.find("second exit 1"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("is in use by another run (pid"), std::string::npos) << first.output;
  EXPECT_EQ(first.exit_code, 130) << first.output;  // the first stopped on its SIGINT, after a checkpoint
  EXPECT_NE(first.output.find("SIGINT: stopped after step"), std::string::npos) << first.output;
}

// A run whose loss turns non-finite stops with an error naming the step and never saves what
// it would have written; a non-finite lr is refused at start.
TEST(Finetune, NonFiniteLossStopsTheRunWithoutANonFiniteCheckpoint) {
  TempDir dir;
  auto recipe = write_recipe(dir, kLora);
  auto r = train(recipe, "--optimizer.lr=1.0e+30 --step_scheduler.max_steps=6 --step_scheduler.ckpt_every_steps=1 "
                         "--checkpoint.save_consolidated=false");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(r.output.find("the loss is nan") != std::string::npos ||
              r.output.find("the loss is inf") != std::string::npos ||
              r.output.find("weights are not finite") != std::string::npos)
      << r.output;
  for (const auto& entry : fs::directory_iterator(dir / "ckpt")) {
    auto adapter = entry.path() / "model" / "adapter_model.safetensors";
    if (!fs::exists(adapter)) continue;
    auto file = hf::SafetensorsCheckpoint::open(adapter);
    for (const auto& name : file.names())
      EXPECT_TRUE(at::isfinite(borrow_view(file.get(name))).all().item<bool>()) << adapter << " " << name;
  }
  auto inf = train(recipe, "--optimizer.lr=.inf");
  EXPECT_EQ(inf.exit_code, 1);
  EXPECT_NE(inf.output.find("optimizer.lr': expected a finite learning rate"), std::string::npos) << inf.output;
}

// An output folder that cannot be written fails before any data or model is loaded.
TEST(Finetune, AnUnwritableCheckpointDirFailsBeforeLoading) {
  TempDir dir;
  write_file_atomic(dir / "file", "x");
  auto r = train(write_recipe(dir), "--checkpoint.checkpoint_dir=" + (dir / "file" / "ckpt").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot be created"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("tokeniz"), std::string::npos) << r.output;
}

TEST(Finetune, AFullDiskDuringASaveLeavesThePreviousCheckpointIntact) {
  TempDir dir;
  auto recipe = write_recipe(dir, kLora);
  auto first = train(recipe, "--step_scheduler.max_steps=2 --checkpoint.save_consolidated=false");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto ckpt = dir / "ckpt";
  ASSERT_EQ(fs::read_symlink(ckpt / "LATEST"), "epoch_0_step_2");
  // Files above 64 KiB fail with EFBIG (SIGXFSZ ignored): the step-4 save cannot complete.
  auto full = run_command("bash -c \"trap '' XFSZ; ulimit -f 64; " + testing::automodel_binary() + " " + recipe +
                          " --step_scheduler.max_steps=4\"");
  EXPECT_NE(full.exit_code, 0) << full.output;
  EXPECT_NE(full.output.find("error:"), std::string::npos) << full.output;
  EXPECT_EQ(fs::read_symlink(ckpt / "LATEST"), "epoch_0_step_2");
  EXPECT_FALSE(fs::exists(ckpt / "epoch_0_step_4"));
  for (const auto& entry : fs::directory_iterator(ckpt))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  // And training resumes from it once there is space.
  auto resumed = train(recipe, "--step_scheduler.max_steps=4");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from"), std::string::npos);
  EXPECT_EQ(fs::read_symlink(ckpt / "LATEST"), "epoch_0_step_4");
}

TEST(Finetune, ConfigTyposNameTheKeyAndTheNearestValidOne) {
  TempDir dir;
  auto r = train(write_recipe(dir), "--step_scheduler.max_step=3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown key 'step_scheduler.max_step'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("did you mean 'max_steps'"), std::string::npos) << r.output;
  auto missing = run_command(testing::automodel_binary() + " " + (dir / "nope.yaml").string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("does not exist"), std::string::npos) << missing.output;
}

// OpenAI-messages rows from the OpenAssistant trees: each prompt and its best-ranked replies.
fs::path oasst_messages(const TempDir& dir) {
  auto out = dir / "oasst.jsonl";
  std::ofstream w(out);
  for (const auto& row : data::read_rows((testing::fixtures_dir() / "datasets" / "oasst" / "en_100_tree.jsonl.gz").string(), "")) {
    nlohmann::json messages = nlohmann::json::array();
    for (const auto* node = &row.value["prompt"]; node != nullptr;) {
      messages.push_back({{"role", (*node)["role"] == "prompter" ? "user" : "assistant"}, {"content", (*node)["text"]}});
      const auto& replies = (*node)["replies"];
      node = replies.is_array() && !replies.empty() ? &replies[0] : nullptr;
    }
    if (messages.back()["role"] == "user") messages.erase(messages.size() - 1);
    if (messages.size() >= 2) w << nlohmann::json({{"messages", messages}}).dump() << "\n";
  }
  return out;
}

// AutoModel's recipe shapes with `seq_length` shorter than most rows and `truncation: true`: a
// column-mapped GSM8K one and an OpenAssistant chat one both train (no row is an error; rows
// cut inside the prompt are skipped with a note) and their validation loss falls.
TEST(Finetune, TruncatingRecipesOfBothDatasetShapesTrainAndValidationLossFalls) {
  const std::string steps = "--step_scheduler.max_steps=12 --step_scheduler.val_every_steps=6 --peft=null";
  {
    TempDir dir;
    auto cut = "--dataset.seq_length=96 --dataset.truncation=true --dataset.skip_invalid_samples=false "
               "--validation_dataset.seq_length=96 --validation_dataset.truncation=longest_first "
               "--validation_dataset.skip_invalid_samples=false ";
    auto r = train(write_recipe(dir), cut + steps);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("left with no token in the loss after truncation"), std::string::npos) << r.output;
    auto val = read_jsonl(dir / "ckpt" / "validation.jsonl");
    ASSERT_GE(val.size(), 2u);
    EXPECT_LT(val.back()["val_loss"].get<double>(), val.front()["val_loss"].get<double>());
  }
  {
    TempDir dir;
    auto messages = oasst_messages(dir).string();
    auto chat = fmt::format(R"(
dataset:
  _target_: nemo_automodel.components.datasets.llm.chat_dataset.ChatDataset
  path_or_dataset_id: {0}
  seq_length: 128
  truncation: true
  padding: do_not_pad
  chat_template: "{{% for m in messages %}}<|{{{{ m.role }}}}|>\n{{{{ m.content }}}}</s>\n{{% endfor %}}"
validation_dataset:
  _target_: nemo_automodel.components.datasets.llm.chat_dataset.ChatDataset
  path_or_dataset_id: {0}
  seq_length: 128
  truncation: true
  limit_dataset_samples: 16
  chat_template: "{{% for m in messages %}}<|{{{{ m.role }}}}|>\n{{{{ m.content }}}}</s>\n{{% endfor %}}"
)", messages);
    auto recipe = write_recipe(dir);
    std::string text = read_file(recipe);
    text = text.substr(0, text.find("dataset:")) + text.substr(text.find("step_scheduler:")) + chat;
    std::ofstream(recipe) << text;
    auto r = train(recipe, steps);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto val = read_jsonl(dir / "ckpt" / "validation.jsonl");
    ASSERT_GE(val.size(), 2u);
    EXPECT_LT(val.back()["val_loss"].get<double>(), val.front()["val_loss"].get<double>());
  }
}

// Keys without effect are said once at start; grad_acc_steps is checked against the batch sizes
// and the process count, naming all three.
TEST(Finetune, KeysWithoutEffectAreReportedOnceAndGradAccStepsIsChecked) {
  TempDir dir;
  auto recipe = write_recipe(dir);
  auto r = train(recipe, "--step_scheduler.max_steps=1 --dataloader.num_workers=4 --step_scheduler.grad_acc_steps=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string note = "accepted, no effect here: dataloader.num_workers (";
  auto at = r.output.find(note);
  EXPECT_NE(at, std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(note, at + 1), std::string::npos) << "reported twice:\n" << r.output;
  r = train(recipe, "--step_scheduler.grad_acc_steps=3");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("grad_acc_steps is 3 but global_batch_size / (local_batch_size x data-parallel size) = "
                          "4 / (4 x 1) = 1"),
            std::string::npos)
      << r.output;
}

TEST(Finetune, GenerateWithAnAdapterMatchesTheMergedModel) {
  TempDir dir;
  ASSERT_EQ(train(write_recipe(dir, kLora), "--step_scheduler.max_steps=4").exit_code, 0);
  auto adapter = dir / "ckpt" / "epoch_0_step_4" / "model";
  auto g1 = run_command(testing::automodel_binary() + " generate --model " + stories() + " --adapter " +
                        adapter.string() + " --prompt 'Tom has 3 apples.' --max-new-tokens 20 2>/dev/null");
  auto g2 = run_command(testing::automodel_binary() + " generate --model " + (adapter / "consolidated").string() +
                        " --prompt 'Tom has 3 apples.' --max-new-tokens 20 2>/dev/null");
  ASSERT_EQ(g1.exit_code, 0) << g1.output;
  EXPECT_EQ(g1.output, g2.output);
}

// MFU on CPU against the measured matmul peak, probed once and cached in the user's cache folder.
TEST(Finetune, CpuTrainingLogsMfuAsANumberAgainstTheCachedMeasuredPeak) {
  TempDir dir;
  const auto recipe = write_recipe(dir);
  const std::string run = "env -u AUTOMODEL_CACHE_DIR XDG_CACHE_HOME=" + (dir / "cache").string() + " " +
                          testing::automodel_binary() + " " + recipe + " --step_scheduler.max_steps=1";
  auto r = run_command(run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto cache = dir / "cache" / "automodel" / "peak_flops.json";
  EXPECT_NE(r.output.find("mfu against measured CPU peak "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("measured now, cached in " + cache.string()), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("| mfu - |"), std::string::npos) << r.output;
  auto steps = read_jsonl(dir / "ckpt" / "training.jsonl");
  ASSERT_EQ(steps.size(), 1u);
  ASSERT_TRUE(steps[0]["mfu"].is_number()) << steps[0].dump();
  EXPECT_GT(steps[0]["mfu"].get<double>(), 0.0);
  // The next run on this machine reads the cache.
  fs::remove_all(dir / "ckpt");
  auto second = run_command(run);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("threads; cached in " + cache.string() + ")"), std::string::npos) << second.output;
}

}  // namespace
}  // namespace automodel
