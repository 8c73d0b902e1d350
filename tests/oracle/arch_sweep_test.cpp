// Live parity with the transformers in the venv, for every registered model_type: a tiny random
// model built and saved by transformers itself (tests/oracles/hf_arch_sweep.py) must give the
// same logits, loss, hidden states, router logits and gradients through `automodel debug
// forward`, and 3 steps of our trainer (the `automodel` CLI on a YAML recipe) must log the same
// losses and grad norms as HF's model trained with torch.optim.AdamW (full and LoRA/PEFT).
//
// ctest runs every test in its own process, so the script's output is generated once and shared
// under <build>/oracle_cache/, keyed by the script's text, the oracle versions and the python.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "automodel/common/atomic_file.h"
#include "automodel/common/file_lock.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/registry.h"
#include "parity/debug_forward_parity.h"
#include "test_util.h"

namespace automodel {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::TempDir;

constexpr double kTrainingTolerance = 1e-4;  // relative, per step, loss and grad norm

std::vector<std::string> registered_model_types() {
  std::vector<std::string> out;
  for (const auto& arch : models::architectures()) out.push_back(arch.model_type);
  return out;
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// A cache key: only ever compared with keys made by this same test binary.
std::string key_hex(const std::string& text) { return fmt::format("{:016x}", std::hash<std::string>{}(text)); }

// The script's output directory (or why there is none), generated at most once per key.
struct Sweep {
  fs::path dir;
  nlohmann::json manifest;
  std::string error;
};

Sweep generate_sweep() {
  Sweep s;
  const auto script = testing::oracle_script("hf_arch_sweep.py");
  const auto python = testing::python();
  auto versions = run_command("'" + python + "' " + quoted(script) + " --fingerprint");
  if (versions.exit_code != 0) {
    s.error = "hf_arch_sweep.py --fingerprint failed: " + versions.output;
    return s;
  }
  const fs::path root = fs::path(AUTOMODEL_BUILD_DIR) / "oracle_cache";
  fs::create_directories(root);
  const std::string name = "hf_arch_sweep-" + key_hex(read_file(script) + versions.output + python);
  s.dir = root / name;
  FileLock lock(root / "hf_arch_sweep.lock");  // parallel test processes wait for the one generating
  lock.lock();
  if (!fs::exists(s.dir / "manifest.json")) {
    auto staging = root / fmt::format(".{}.{}", name, ::getpid());
    fs::remove_all(staging);
    auto r = run_command("'" + python + "' " + quoted(script) + " " + quoted(staging));
    if (r.exit_code != 0) {
      fs::remove_all(staging);
      s.error = "hf_arch_sweep.py failed (exit " + std::to_string(r.exit_code) + "):\n" + r.output;
      return s;
    }
    fs::remove_all(s.dir);
    fs::rename(staging, s.dir);
    for (const auto& entry : fs::directory_iterator(root))  // outputs of older scripts or oracles
      if (entry.path().filename().string().starts_with("hf_arch_sweep-") && entry.path() != s.dir)
        fs::remove_all(entry.path());
  }
  s.manifest = nlohmann::json::parse(read_file(s.dir / "manifest.json"));
  return s;
}

const Sweep& sweep() {
  static const Sweep s = generate_sweep();
  return s;
}

bool has_entry(const Sweep& s, const std::string& model_type) {
  for (const char* list : {"model_types", "composite_types", "variants"})
    for (const auto& t : s.manifest.value(list, nlohmann::json::array()))
      if (t == model_type) return true;
  return false;
}

#define ASSERT_SWEEP_HAS(model_type)                                                                            \
  ASSERT_TRUE(sweep().error.empty()) << sweep().error;                                                          \
  ASSERT_TRUE(has_entry(sweep(), model_type))                                                                   \
      << "tests/oracles/hf_arch_sweep.py has no entry for the registered model_type '" << (model_type)          \
      << "': add one to ARCHS (a tiny config with the features real checkpoints of that type use)"

// A recipe that trains exactly as the reference did: the whole dataset as one micro-batch,
// constant LR, fp32 on CPU, the same AdamW settings and clipping.
// `save`: a checkpoint (with consolidated/) after the last step.
std::string write_recipe(const TempDir& tmp, const fs::path& model_dir, const fs::path& dataset,
                         const nlohmann::json& reference, bool save = false) {
  const auto& s = reference["settings"];
  const auto rows = reference["rows"].get<int64_t>();
  std::string peft;
  if (s.contains("lora_r")) {
    std::string targets;
    for (const auto& t : s["lora_targets"]) targets += (targets.empty() ? "" : ", ") + t.get<std::string>();
    peft = fmt::format(R"(peft:
  _target_: nemo_automodel.components._peft.lora.PeftConfig
  target_modules: [{}]
  dim: {}
  alpha: {}
  dropout: 0.0
  lora_A_init: xavier
)", targets, s["lora_r"].get<int64_t>(), s["lora_alpha"].get<double>());
  }
  auto text = fmt::format(R"(recipe: TrainFinetuneRecipeForNextTokenPrediction
seed: {seed}
model:
  _target_: nemo_automodel.NeMoAutoModelForCausalLM.from_pretrained
  pretrained_model_name_or_path: {model}
  torch_dtype: fp32
  device: cpu
dataset:
  _target_: automodel.data.TextDataset
  path_or_dataset_id: {dataset}
  text_column: text
dataloader:
  _target_: torchdata.stateful_dataloader.StatefulDataLoader
  shuffle: false
step_scheduler:
  global_batch_size: {rows}
  local_batch_size: {rows}
  max_steps: {steps}
optimizer:
  _target_: torch.optim.AdamW
  lr: {lr}
  betas: [{beta1}, {beta2}]
  eps: {eps}
  weight_decay: {wd}
clip_grad_norm:
  max_norm: {max_norm}
checkpoint:
  enabled: {save}
  save_consolidated: {save}
  checkpoint_dir: {ckpt}
{peft})",
                          fmt::arg("seed", s["seed"].get<int64_t>()), fmt::arg("model", model_dir.string()),
                          fmt::arg("dataset", dataset.string()), fmt::arg("rows", rows),
                          fmt::arg("steps", s["steps"].get<int64_t>()), fmt::arg("lr", s["lr"].get<double>()),
                          fmt::arg("beta1", s["betas"][0].get<double>()), fmt::arg("beta2", s["betas"][1].get<double>()),
                          fmt::arg("eps", s["eps"].get<double>()), fmt::arg("wd", s["weight_decay"].get<double>()),
                          fmt::arg("max_norm", s["max_grad_norm"].get<double>()),
                          fmt::arg("ckpt", (tmp / "ckpt").string()), fmt::arg("peft", peft), fmt::arg("save", save));
  auto path = tmp / "recipe.yaml";
  std::ofstream(path) << text;
  return path.string();
}

std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

double rel(double got, double want) { return std::abs(got - want) / std::max(std::abs(want), 1e-12); }

// Runs our trainer on the reference's recipe and compares training.jsonl step by step.
void expect_training_matches(const std::string& model_type, const nlohmann::json& reference) {
  const auto arch_dir = sweep().dir / model_type;
  TempDir tmp;
  auto recipe = write_recipe(tmp, arch_dir / "model", sweep().dir / "dataset.jsonl", reference);
  // The dataset cache is off: the run must tokenize the rows itself, as a fresh user run does.
  auto r = run_command("AUTOMODEL_DATASET_CACHE=0 " + testing::automodel_binary() + " " + recipe);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto log = read_jsonl(tmp / "ckpt" / "training.jsonl");
  const auto& want = reference["steps"];
  ASSERT_EQ(log.size(), want.size()) << r.output;
  // The reference must actually train (else equal losses would prove little).
  EXPECT_LT(want.back()["loss"].get<double>(), want.front()["loss"].get<double>() - 0.05);
  for (size_t i = 0; i < want.size(); ++i) {
    double loss = log[i]["loss"], grad_norm = log[i]["grad_norm"];
    double want_loss = want[i]["loss"], want_norm = want[i]["grad_norm"];
    EXPECT_EQ(log[i]["step"].get<int64_t>(), static_cast<int64_t>(i + 1));
    EXPECT_LE(rel(loss, want_loss), kTrainingTolerance)
        << model_type << " step " << i + 1 << ": loss " << fmt::format("{:.9g}", loss) << ", torch "
        << fmt::format("{:.9g}", want_loss);
    EXPECT_LE(rel(grad_norm, want_norm), kTrainingTolerance)
        << model_type << " step " << i + 1 << ": grad_norm " << fmt::format("{:.9g}", grad_norm) << ", torch "
        << fmt::format("{:.9g}", want_norm);
    EXPECT_EQ(log[i]["num_label_tokens"].get<int64_t>(), reference["label_tokens"].get<int64_t>())
        << model_type << " step " << i + 1 << ": the rows were not tokenized as transformers' AutoTokenizer does "
        << "(reference ids: " << reference["token_ids"].dump() << ")";
  }
}

nlohmann::json training_reference(const std::string& model_type) {
  return nlohmann::json::parse(read_file(sweep().dir / model_type / "train.json"));
}

class LiveTransformersParity : public ::testing::TestWithParam<std::string> {};

TEST_P(LiveTransformersParity, ForwardAndGradientsMatch) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors");
  const auto& model_type = GetParam();
  ASSERT_SWEEP_HAS(model_type);
  const auto arch_dir = sweep().dir / model_type;
  TempDir tmp;
  auto out = tmp / "out.safetensors";
  auto r = testing::run_debug_forward(arch_dir / "model", arch_dir / "expected.safetensors", out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int compared = testing::expect_every_tensor_matches(arch_dir / "expected.safetensors", out, model_type);
  // Every weight of the checkpoint has its gradient checked, besides logits, loss and states.
  auto weights = hf::SafetensorsCheckpoint::open(arch_dir / "model" / "model.safetensors");
  auto expected = hf::SafetensorsCheckpoint::open(arch_dir / "expected.safetensors");
  // Buffers and frozen parameters (e.g. routers' correction biases) have no gradient in HF.
  const auto meta = nlohmann::json::parse(read_file(arch_dir / "meta.json"));
  std::set<std::string> frozen;
  for (const auto& name : meta["no_gradient"]) frozen.insert(name.get<std::string>());
  std::set<std::string> missing;
  int trainable = 0;
  for (const auto& name : weights.names()) {
    if (frozen.count(name)) continue;
    ++trainable;
    if (!expected.contains("grad." + name)) missing.insert(name);
  }
  EXPECT_TRUE(missing.empty()) << "the reference has no gradient for " << missing.size() << " weights, e.g. "
                               << *missing.begin();
  EXPECT_GE(compared, trainable + 4);
}

TEST_P(LiveTransformersParity, ThreeTrainingStepsMatchTorchAdamW) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors");
  const auto& model_type = GetParam();
  ASSERT_SWEEP_HAS(model_type);
  auto reference = training_reference(model_type)["full"];
  ASSERT_FALSE(reference.contains("skip")) << reference["skip"];
  expect_training_matches(model_type, reference);
}

TEST_P(LiveTransformersParity, ThreeLoraTrainingStepsMatchPeft) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors peft");
  const auto& model_type = GetParam();
  ASSERT_SWEEP_HAS(model_type);
  auto reference = training_reference(model_type)["lora"];
  if (reference.contains("skip")) GTEST_SKIP() << model_type << ": " << reference["skip"].get<std::string>();
  expect_training_matches(model_type, reference);
}

INSTANTIATE_TEST_SUITE_P(ArchSweep, LiveTransformersParity, ::testing::ValuesIn(registered_model_types()),
                         [](const auto& info) { return testing::param_name(info.param); });

// Composite (VLM) checkpoints whose language model is a registered model_type: the same checks on
// the wrapper's checkpoint (its names, its vision tower beside), text-only.
const std::vector<std::string> kCompositeTypes = {"qwen3_5", "qwen3_5_moe", "llama4",   "gemma4",
                                                  "gemma4_e2b", "gemma3",    "mistral3", "mistral3_ministral3"};
INSTANTIATE_TEST_SUITE_P(CompositeSweep, LiveTransformersParity, ::testing::ValuesIn(kCompositeTypes),
                         [](const auto& info) { return testing::param_name(info.param); });

// Second layouts of registered model_types (Gemma 4's MoE block and E2B/E4B's per-layer inputs
// and KV sharing, Falcon-7B's multi-query beside Falcon-40B's groups).
const std::vector<std::string> kVariants = {"gemma4_moe", "gemma4_text_e2b", "falcon_7b", "falcon_sequential"};
INSTANTIATE_TEST_SUITE_P(VariantSweep, LiveTransformersParity, ::testing::ValuesIn(kVariants),
                         [](const auto& info) { return testing::param_name(info.param); });

TEST(ArchSweepScript, ListsTheCompositesAndVariantsThisTestChecks) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors");
  ASSERT_TRUE(sweep().error.empty()) << sweep().error;
  EXPECT_EQ(sweep().manifest["composite_types"].get<std::vector<std::string>>(), kCompositeTypes);
  EXPECT_EQ(sweep().manifest["variants"].get<std::vector<std::string>>(), kVariants);
}

// What we export from a composite loads in transformers as the wrapper class: no tensor missing or
// unexpected, its vision tower as the base had it, and our logits (full fine-tune: the consolidated
// folder; LoRA: the base + our adapter in PEFT against our merged folder).
class CompositeExport : public ::testing::TestWithParam<std::string> {};

nlohmann::json check_composite(const TempDir& tmp, const std::string& model_type, const fs::path& model,
                               const fs::path& adapter, const fs::path& ours) {
  nlohmann::json spec = {{"model_type", model_type}, {"model", model.string()},
                         {"base", (sweep().dir / model_type / "model").string()},
                         {"inputs", (sweep().dir / model_type / "expected.safetensors").string()},
                         {"ours", ours.string()}};
  if (!adapter.empty()) spec["adapter"] = adapter.string();
  std::ofstream(tmp / "spec.json") << spec.dump(1);
  auto r = run_command("'" + testing::python() + "' " + quoted(testing::oracle_script("hf_arch_sweep.py")) +
                       " --check-composite " + quoted(tmp / "spec.json") + " " + quoted(tmp / "report.json"));
  if (r.exit_code != 0) throw std::runtime_error("hf_arch_sweep.py --check-composite failed:\n" + r.output);
  return nlohmann::json::parse(read_file(tmp / "report.json"));
}

void expect_loads_as_wrapper(const nlohmann::json& report, const std::string& what) {
  EXPECT_TRUE(report["missing"].empty()) << what << ": missing " << report["missing"].dump();
  EXPECT_TRUE(report["unexpected"].empty()) << what << ": unexpected " << report["unexpected"].dump();
  EXPECT_GT(report["foreign"].get<int64_t>(), 0) << what;
  EXPECT_TRUE(report["foreign_changed"].empty()) << what << ": changed " << report["foreign_changed"].dump();
  EXPECT_LE(report["rel"].get<double>(), 1e-5) << what << ": max|ours - transformers| / max|transformers|";
}

TEST_P(CompositeExport, FullAndLoraCheckpointsLoadAsTheWrapperClass) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors peft");
  const auto& model_type = GetParam();
  ASSERT_SWEEP_HAS(model_type);
  const auto arch_dir = sweep().dir / model_type;
  for (const char* mode : {"full", "lora"}) {
    TempDir tmp;
    auto reference = training_reference(model_type)[mode];
    auto r = run_command("AUTOMODEL_DATASET_CACHE=0 " + testing::automodel_binary() + " " +
                         write_recipe(tmp, arch_dir / "model", sweep().dir / "dataset.jsonl", reference, true));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto model_dir = tmp / "ckpt" / "LATEST" / "model";  // a link to the last checkpoint
    const auto consolidated = model_dir / "consolidated";
    auto logits = testing::run_debug_forward(consolidated, arch_dir / "expected.safetensors", tmp / "ours.safetensors",
                                             "--grads none");
    ASSERT_EQ(logits.exit_code, 0) << logits.output;
    const bool lora = std::string(mode) == "lora";
    auto report = check_composite(tmp, model_type, lora ? arch_dir / "model" : consolidated,
                                  lora ? model_dir : fs::path(), tmp / "ours.safetensors");
    expect_loads_as_wrapper(report, model_type + " " + mode);
  }
}

INSTANTIATE_TEST_SUITE_P(CompositeSweep, CompositeExport, ::testing::ValuesIn(kCompositeTypes),
                         [](const auto& info) { return testing::param_name(info.param); });

// A sweep entry for a model_type we no longer register is stale (renamed or removed).
TEST(ArchSweepScript, HasNoEntryForAnUnregisteredModelType) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors");
  ASSERT_TRUE(sweep().error.empty()) << sweep().error;
  auto registered = registered_model_types();
  for (const auto& t : sweep().manifest["model_types"])
    EXPECT_NE(std::find(registered.begin(), registered.end(), t.get<std::string>()), registered.end())
        << "hf_arch_sweep.py has an entry for '" << t.get<std::string>() << "', which is not registered";
}

}  // namespace
}  // namespace automodel
