// The export contract, with transformers and PEFT as the oracle (tests/oracles/export_contract.py):
// the folders a short stories260K fine-tune writes load in transformers / PEFT and give our
// logits and greedy tokens; PEFT's merge_and_unload() equals our merge-lora; and a bf16 base
// stays bf16 in every HF folder we write.
//
// `automodel debug forward` takes no adapter, so PEFT's base + adapter logits are compared with
// ours on the folder `automodel merge-lora` writes (and with the run's consolidated folder);
// `automodel generate --adapter` runs base + adapter unmerged.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "automodel/common/atomic_file.h"
#include "automodel/hf/safetensors.h"
#include "integration/finetune_util.h"
#include "test_util.h"

namespace automodel {
namespace {

using testing::automodel_binary;
using testing::CommandResult;

const std::vector<std::vector<int64_t>> kPrompts = {
    {1, 403, 407, 261, 378},                              // "Once upon a time"
    {1, 291, 376, 400, 428},                              // "The little dog"
    {1, 317, 381, 261, 352, 266, 268, 388, 426, 338}};    // "Lily had a red ball. She"
constexpr int kNewTokens = 40;

CommandResult python(const std::string& args) {
  return run_command("'" + testing::python() + "' '" + testing::oracle_script("export_contract.py").string() + "' " +
                     args);
}

// One short training of stories260K (or `base`) on GSM8K; its last checkpoint.
struct TrainedRun {
  TempDir dir;
  fs::path checkpoint;
  std::string error;
};

std::unique_ptr<TrainedRun> train_run(const std::string& extra, const std::string& args) {
  auto run = std::make_unique<TrainedRun>();
  // lr 1e-3: the weights move (greedy tokens change) without the model collapsing into one token.
  auto r = train(write_recipe(run->dir, extra), "--step_scheduler.max_steps=3 --optimizer.lr=1.0e-3 " + args);
  if (r.exit_code != 0) {
    run->error = r.output;
    return run;
  }
  run->checkpoint = run->dir / "ckpt" / "epoch_0_step_3";
  if (!fs::is_directory(run->checkpoint)) run->error = "no checkpoint " + run->checkpoint.string() + ":\n" + r.output;
  return run;
}

// Runs once per test process (reused by the tests of a suite when the binary runs them together).
class ExportContract : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    full_.reset();
    lora_.reset();
    inputs_.reset();
  }
  static const TrainedRun& full() {
    if (!full_) full_ = train_run("", "");
    return *full_;
  }
  static const TrainedRun& lora() {
    if (!lora_) lora_ = train_run(kLora, "");
    return *lora_;
  }
  // The fixed batch both sides run: (2, 24) ids starting with BOS.
  static fs::path inputs() {
    if (!inputs_) {
      inputs_ = std::make_unique<TempDir>();
      auto r = python("inputs " + (*inputs_ / "inputs.safetensors").string());
      if (r.exit_code != 0) throw std::runtime_error(r.output);
    }
    return *inputs_ / "inputs.safetensors";
  }
  static std::unique_ptr<TrainedRun> full_, lora_;
  static std::unique_ptr<TempDir> inputs_;
};
std::unique_ptr<TrainedRun> ExportContract::full_, ExportContract::lora_;
std::unique_ptr<TempDir> ExportContract::inputs_;

// Our logits for `model` on the fixed batch, written to `out`.
void debug_forward(const fs::path& model, const fs::path& inputs, const fs::path& out) {
  auto r = run_command(fmt::format("{} debug forward --model {} --inputs {} --out {} --grads none", automodel_binary(),
                                   model.string(), inputs.string(), out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

// Our greedy ids (prompt + continuation) for each prompt.
std::vector<std::vector<int64_t>> generate(const fs::path& model, const std::string& adapter = "") {
  std::vector<std::vector<int64_t>> out;
  for (const auto& prompt : kPrompts) {
    std::string ids;
    for (auto id : prompt) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    auto r = run_command(fmt::format("{} generate --model {} {} --prompt-ids {} --max-new-tokens {} 2>/dev/null",
                                     automodel_binary(), model.string(),
                                     adapter.empty() ? "" : "--adapter " + adapter, ids, kNewTokens));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    auto open = r.output.rfind('[');
    out.push_back(open == std::string::npos ? std::vector<int64_t>{}
                                            : nlohmann::json::parse(r.output.substr(open)).get<std::vector<int64_t>>());
  }
  return out;
}

nlohmann::json check(const TempDir& dir, const nlohmann::json& spec) {
  std::ofstream(dir / "spec.json") << spec.dump(1);
  auto r = python("check " + (dir / "spec.json").string() + " " + (dir / "report.json").string());
  if (r.exit_code != 0) throw std::runtime_error("export_contract.py check failed:\n" + r.output);
  return nlohmann::json::parse(read_file(dir / "report.json"));
}

nlohmann::json logits_spec(const std::string& name, const fs::path& model, const std::string& adapter,
                           const fs::path& ours) {
  nlohmann::json s;
  s["name"] = name;
  s["model"] = model.string();
  if (!adapter.empty()) s["adapter"] = adapter;
  s["ours"] = ours.string();
  return s;
}

nlohmann::json generate_spec(const std::string& name, const fs::path& model, const std::string& adapter = "") {
  nlohmann::json s;
  s["name"] = name;
  s["model"] = model.string();
  s["prompts"] = kPrompts;
  s["max_new_tokens"] = kNewTokens;
  if (!adapter.empty()) s["adapter"] = adapter;
  return s;
}

void expect_logits_match(const nlohmann::json& report, const std::string& name) {
  const auto& r = report["logits"][name];
  ASSERT_TRUE(r["shape_equal"].get<bool>()) << name;
  EXPECT_LE(r["rel"].get<double>(), 1e-5) << name << ": max|ours - reference| / max|reference|";
}

void expect_same_ids(const nlohmann::json& report, const std::string& name,
                     const std::vector<std::vector<int64_t>>& ours) {
  auto reference = report["generate"][name].get<std::vector<std::vector<int64_t>>>();
  ASSERT_EQ(ours.size(), reference.size());
  for (size_t p = 0; p < ours.size(); ++p) {
    EXPECT_EQ(ours[p], reference[p]) << name << ", prompt " << p;
    EXPECT_GT(ours[p].size(), kPrompts[p].size()) << name << ": nothing generated for prompt " << p;
  }
}

// Our `automodel merge-lora` of `adapter` onto `base` into `out`.
void merge_lora(const fs::path& base, const fs::path& adapter, const fs::path& out) {
  auto m = run_command(fmt::format("{} merge-lora --base {} --adapter {} --out {}", automodel_binary(), base.string(),
                                   adapter.string(), out.string()));
  ASSERT_EQ(m.exit_code, 0) << m.output;
}

TEST_F(ExportContract, FullFineTuneConsolidatedFolderGivesOurLogitsAndGreedyTokensInTransformers) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers peft");
  const auto& run = full();
  ASSERT_TRUE(run.error.empty()) << run.error;
  auto consolidated = run.checkpoint / "model" / "consolidated";
  TempDir work;
  debug_forward(consolidated, inputs(), work / "ours.safetensors");
  auto ours_ids = generate(consolidated);
  nlohmann::json spec;
  spec["inputs"] = inputs().string();
  spec["logits"] = nlohmann::json::array({logits_spec("consolidated", consolidated, "", work / "ours.safetensors")});
  spec["generate"] = nlohmann::json::array({generate_spec("consolidated", consolidated)});
  auto report = check(work, spec);
  expect_logits_match(report, "consolidated");
  expect_same_ids(report, "consolidated", ours_ids);
  // The training moved the weights: the base's tokens differ somewhere.
  EXPECT_NE(ours_ids, generate(stories()));
}

TEST_F(ExportContract, LoraAdapterLoadsInPeftAndGivesOurMergedAndConsolidatedLogits) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers peft");
  const auto& run = lora();
  ASSERT_TRUE(run.error.empty()) << run.error;
  auto adapter = run.checkpoint / "model";
  TempDir work;
  auto merged = work / "merged";
  ASSERT_NO_FATAL_FAILURE(merge_lora(stories(), adapter, merged));
  debug_forward(merged, inputs(), work / "merged.safetensors");
  debug_forward(adapter / "consolidated", inputs(), work / "consolidated.safetensors");
  debug_forward(stories(), inputs(), work / "base.safetensors");
  nlohmann::json spec;
  spec["inputs"] = inputs().string();
  spec["logits"] = nlohmann::json::array(
      {logits_spec("merged", stories(), adapter.string(), work / "merged.safetensors"),
       logits_spec("consolidated", stories(), adapter.string(), work / "consolidated.safetensors"),
       logits_spec("base_alone", stories(), adapter.string(), work / "base.safetensors")});
  auto report = check(work, spec);
  expect_logits_match(report, "merged");
  expect_logits_match(report, "consolidated");
  // The adapter matters: the base alone is far from PEFT's base + adapter.
  EXPECT_GT(report["logits"]["base_alone"]["rel"].get<double>(), 1e-3);
}

// fp32 base: PEFT's merge and ours compute W + (alpha/r) B A in fp32; only the order of the
// rank-8 sum can differ, so every tensor is within 1e-6 of PEFT's (relative to its largest
// element) and within 4 fp32 spacings of the element, and tensors without LoRA are bitwise equal.
TEST_F(ExportContract, PeftMergeAndUnloadEqualsOurMergeLoraInTheBaseDtype) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers peft");
  const auto& run = lora();
  ASSERT_TRUE(run.error.empty()) << run.error;
  auto adapter = run.checkpoint / "model";
  TempDir work;
  auto merged = work / "merged";
  ASSERT_NO_FATAL_FAILURE(merge_lora(stories(), adapter, merged));
  nlohmann::json merge;
  merge["name"] = "merged";
  merge["base"] = stories();
  merge["adapter"] = adapter.string();
  merge["ours"] = merged.string();
  nlohmann::json spec;
  spec["merge"] = nlohmann::json::array({merge});
  auto report = check(work, spec);
  const auto& r = report["merge"]["merged"];
  EXPECT_TRUE(r["names_equal"].get<bool>()) << "only in PEFT's: " << r["only_ref"] << "; only in ours: " << r["only_ours"];
  int lora_targets = 0;
  for (const auto& [name, t] : r["tensors"].items()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(t["ours_dtype"], "torch.float32");
    EXPECT_EQ(t["ref_dtype"], "torch.float32");
    ASSERT_TRUE(t["shape_equal"].get<bool>());
    bool target = name.find("_proj.weight") != std::string::npos;
    lora_targets += target;
    if (!target) {
      EXPECT_TRUE(t["equal"].get<bool>()) << "a tensor without LoRA changed in the merge";
      continue;
    }
    EXPECT_LE(t["rel"].get<double>(), 1e-6);
    EXPECT_LE(t["max_spacings"].get<double>(), 4.0);
  }
  EXPECT_EQ(lora_targets, 5 * 7);
}

TEST_F(ExportContract, GreedyTokensOfBasePlusAdapterEqualPeftGenerate) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers peft");
  const auto& run = lora();
  ASSERT_TRUE(run.error.empty()) << run.error;
  auto adapter = (run.checkpoint / "model").string();
  TempDir work;
  auto ours_ids = generate(stories(), adapter);
  nlohmann::json spec;
  spec["generate"] = nlohmann::json::array({generate_spec("peft", stories(), adapter)});
  auto report = check(work, spec);
  expect_same_ids(report, "peft", ours_ids);
}

// Every safetensors tensor of `dir` is BF16 and config.json says bfloat16.
void expect_bf16_folder(const fs::path& dir, const std::string& what) {
  SCOPED_TRACE(what + " (" + dir.string() + ")");
  ASSERT_TRUE(fs::is_directory(dir));
  auto file = hf::SafetensorsCheckpoint::open(dir);
  std::map<std::string, int> dtypes;
  for (const auto& name : file.names()) ++dtypes[std::string(hf::dtype_name(file.get(name).entry->dtype))];
  EXPECT_EQ(dtypes, (std::map<std::string, int>{{"BF16", static_cast<int>(file.names().size())}}));
  auto config = nlohmann::json::parse(read_file(dir / "config.json"));
  EXPECT_EQ(config.value("dtype", config.value("torch_dtype", "")), "bfloat16");
}

TEST_F(ExportContract, Bf16BaseStaysBf16InEveryFolderWeWrite) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers peft");
  TempDir work;
  auto base = work / "stories260K_bf16";
  auto copy = python("bf16-copy " + stories() + " " + base.string());
  ASSERT_EQ(copy.exit_code, 0) << copy.output;
  expect_bf16_folder(base, "the bf16 base itself");
  const std::string model = "--model.pretrained_model_name_or_path=" + base.string();

  auto lora_run = train_run(kLora, model);
  ASSERT_TRUE(lora_run->error.empty()) << lora_run->error;
  auto adapter = lora_run->checkpoint / "model";
  expect_bf16_folder(adapter / "consolidated", "LoRA run: model/consolidated");
  auto merged = work / "merged";
  ASSERT_NO_FATAL_FAILURE(merge_lora(base, adapter, merged));
  expect_bf16_folder(merged, "merge-lora output");
  // PEFT merges in bf16 as W + bf16(delta) (two roundings), ours rounds W + delta once (fp32
  // sum): they may differ by one bf16 spacing of the result, never more.
  nlohmann::json merge;
  merge["name"] = "bf16";
  merge["base"] = base.string();
  merge["adapter"] = adapter.string();
  merge["ours"] = merged.string();
  nlohmann::json spec;
  spec["merge"] = nlohmann::json::array({merge});
  auto report = check(work, spec)["merge"]["bf16"];
  EXPECT_TRUE(report["names_equal"].get<bool>());
  for (const auto& [name, t] : report["tensors"].items()) {
    EXPECT_EQ(t["ref_dtype"], "torch.bfloat16") << name;
    EXPECT_EQ(t["ours_dtype"], "torch.bfloat16") << name;
    ASSERT_TRUE(t["shape_equal"].get<bool>()) << name;
    EXPECT_LE(t["max_spacings"].get<double>(), 1.0) << name;
  }
  auto consolidated = work / "consolidated";
  auto c = run_command(fmt::format("{} consolidate {} --out {}", automodel_binary(), lora_run->checkpoint.string(),
                                   consolidated.string()));
  ASSERT_EQ(c.exit_code, 0) << c.output;
  expect_bf16_folder(consolidated, "consolidate output (LoRA checkpoint)");

  auto full_run = train_run("", model);
  ASSERT_TRUE(full_run->error.empty()) << full_run->error;
  expect_bf16_folder(full_run->checkpoint / "model" / "consolidated", "full fine-tune: model/consolidated");
}

}  // namespace
}  // namespace automodel
