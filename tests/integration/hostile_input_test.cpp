// Hostile-but-fair inputs through the binary (issue 17 §2, §3 and "Smaller"): each gives one clear
// error naming the file/flag, what was expected and what was found, exits 1 (no signal) within
// seconds, under a 4 GB address-space limit.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "test_util.h"

namespace automodel {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string bin() { return testing::automodel_binary(); }
fs::path stories() { return testing::fixtures_dir() / "stories260K"; }

struct Outcome {
  testing::CommandResult result;
  double seconds;
};

// Runs `automodel <args>` with a 4 GB address-space limit and a 60 s timeout.
Outcome run_limited(const std::string& args) {
  auto start = std::chrono::steady_clock::now();
  auto result = testing::run_command("ulimit -v 4000000; exec timeout 60 " + bin() + " " + args);
  return {result, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

// Exit 1 with one "error:" line holding every piece of `expected`, within 20 s.
void expect_clear_error(const Outcome& o, const std::vector<std::string>& expected) {
  EXPECT_EQ(o.result.exit_code, 1) << o.result.output;  // -1 or 124+ would be a signal or a hang
  EXPECT_LT(o.seconds, 20.0) << o.result.output;
  EXPECT_NE(o.result.output.find("error: "), std::string::npos) << o.result.output;
  EXPECT_EQ(o.result.output.find("terminate called"), std::string::npos) << o.result.output;
  for (const auto& piece : expected) EXPECT_NE(o.result.output.find(piece), std::string::npos) << piece << "\n" << o.result.output;
}

// A copy of stories260K with config.json edited by `edit`.
fs::path model_with(const TempDir& dir, const std::function<void(nlohmann::json&)>& edit) {
  auto folder = dir / "model";
  fs::copy(stories(), folder, fs::copy_options::recursive);
  auto config = nlohmann::json::parse(read_file(folder / "config.json"));
  edit(config);
  write_file_atomic(folder / "config.json", config.dump());
  return folder;
}

TEST(HostileInput, DeeplyNestedConfigJsonIsRefusedByInspectAndGenerate) {
  TempDir dir;
  auto folder = dir / "model";
  fs::copy(stories(), folder, fs::copy_options::recursive);
  auto text = read_file(folder / "config.json");
  text.insert(text.rfind('}'), ", \"x\": " + std::string(100000, '[') + std::string(100000, ']'));
  write_file_atomic(folder / "config.json", text);
  const std::vector<std::string> expected = {(folder / "config.json").string(), "nesting depth 100001",
                                             "limit of 512"};
  expect_clear_error(run_limited("inspect " + folder.string()), expected);
  expect_clear_error(run_limited("generate --model " + folder.string() + " --prompt-ids 1"), expected);
}

TEST(HostileInput, DeeplyNestedTokenizerConfigIsRefused) {
  TempDir dir;
  auto folder = dir / "model";
  fs::copy(stories(), folder, fs::copy_options::recursive);
  write_file_atomic(folder / "tokenizer_config.json", "{\"a\": " + std::string(50000, '{') + "}");
  expect_clear_error(run_limited("generate --model " + folder.string() + " --prompt hi"),
                     {"tokenizer_config.json", "nesting depth 50001", "limit of 512"});
}

TEST(HostileInput, InvalidModelConfigFieldsAreNamedBeforeAllocation) {
  struct Case {
    const char* field;
    nlohmann::json value;
    std::string expected, found;
  };
  for (const auto& c : std::vector<Case>{{"num_hidden_layers", -1, "an integer in [1, 4096]", "-1"},
                                         {"vocab_size", 0, "an integer in [1, ", "0"},
                                         {"hidden_size", int64_t{1} << 45, "an integer in [1, ", "35184372088832"},
                                         {"rope_theta", 0, "a finite number > 0", "0"},
                                         {"rms_norm_eps", -1e-5, "a finite number > 0", "-1e-05"},
                                         {"num_key_value_heads", 3, "a multiple of num_key_value_heads (3)", ""}}) {
    TempDir dir;
    auto folder = model_with(dir, [&](nlohmann::json& config) { config[c.field] = c.value; });
    auto label = (folder / "config.json").string();
    for (const auto& cmd : {"inspect " + folder.string(), "generate --model " + folder.string() + " --prompt-ids 1"})
      expect_clear_error(run_limited(cmd), {label, "expected " + c.expected, "found " + c.found});
  }
}

TEST(HostileInput, TokenizeDecodeNamesIdsOutsideTheVocabulary) {
  for (const char* ids : {"[99999, -1]", "[5, -1]", "[5, 3000000000]", "[18446744073709551615]"}) {
    TempDir dir;
    write_file_atomic(dir / "ids.jsonl", std::string(ids) + "\n");
    auto o = run_limited("tokenize " + stories().string() + " --decode --input " + (dir / "ids.jsonl").string());
    expect_clear_error(o, {"ids.jsonl line 1: token id", "not in the vocabulary", "expected an id from 0 to 511",
                           "vocabulary size 512"});
  }
  TempDir dir;
  write_file_atomic(dir / "ids.jsonl", "[99999, -1]\n");
  auto o = run_limited("tokenize " + stories().string() + " --decode --input " + (dir / "ids.jsonl").string());
  EXPECT_NE(o.result.output.find("token id 99999"), std::string::npos) << o.result.output;
}

TEST(HostileInput, GenerateValidatesSamplingRanges) {
  const std::string base = "generate --model " + stories().string() + " --prompt-ids 1 ";
  expect_clear_error(run_limited(base + "--top-p 2"), {"top_p: expected a number in (0, 1], found 2"});
  expect_clear_error(run_limited(base + "--top-p 0"), {"top_p: expected a number in (0, 1], found 0"});
  expect_clear_error(run_limited(base + "--temperature -1"), {"temperature: expected a finite number >= 0", "found -1"});
  expect_clear_error(run_limited(base + "--max-new-tokens -1"), {"max_new_tokens: expected an integer >= 0, found -1"});
  expect_clear_error(run_limited(base + "--top-k -5"), {"top_k: expected an integer >= 0", "found -5"});
}

TEST(HostileInput, MissingGpuIsOneClearLine) {
  auto probe = testing::run_command("nvidia-smi -L");
  if (probe.exit_code == 0 && probe.output.find("GPU 0") != std::string::npos) GTEST_SKIP() << "a GPU is present";
  auto o = run_limited("generate --model " + stories().string() + " --prompt-ids 1 --device cuda:0");
  expect_clear_error(o, {"[device] 'cuda:0': no CUDA GPU is available"});
  EXPECT_LT(o.result.output.size(), 300u) << o.result.output;
  expect_clear_error(run_limited("generate --model " + stories().string() + " --prompt-ids 1 --device tpu:0"),
                     {"[device] 'tpu:0': expected cpu, cuda or cuda:N"});
}

TEST(HostileInput, MergeLoraRefusesAnExistingOutputFolder) {
  TempDir dir;
  fs::create_directories(dir / "out");
  write_file_atomic(dir / "out" / "keep.txt", "mine");
  auto o = run_limited("merge-lora --base " + stories().string() + " --adapter " + (dir / "adapter").string() +
                       " --out " + (dir / "out").string());
  expect_clear_error(o, {"out exists already"});
  EXPECT_EQ(read_file(dir / "out" / "keep.txt"), "mine");
}

// A small recipe on stories260K (or `model`) with `extra` appended.
std::string recipe(const TempDir& dir, const std::string& extra, const fs::path& model = stories(),
                   const std::string& data = (testing::fixtures_dir() / "datasets" / "gsm8k" / "train.jsonl.gz").string()) {
  std::string text = "model:\n  pretrained_model_name_or_path: " + model.string() + R"(
dataset:
  _target_: nemo_automodel.components.datasets.llm.column_mapped_text_instruction_dataset.ColumnMappedTextInstructionDataset
  path_or_dataset_id: )" + data + R"(
  column_mapping: {question: question, answer: answer}
  limit_dataset_samples: 8
step_scheduler:
  global_batch_size: 2
  local_batch_size: 2
  max_steps: 1
checkpoint:
  enabled: false
  checkpoint_dir: )" + (dir / "ckpt").string() + "\n" + extra;
  write_file_atomic(dir / "recipe.yaml", text);
  return (dir / "recipe.yaml").string();
}

TEST(HostileInput, RecipeAliasBombIsRefusedWithinSeconds) {
  TempDir dir;
  std::string bomb = "bomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 10; ++i) {
    bomb += "  a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) bomb += (j ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  expect_clear_error(run_limited(recipe(dir, bomb)), {"recipe.yaml", "more than 1000000 values", "aliases"});
}

TEST(HostileInput, RecipeTorchDtypeFp64IsNamed) {
  TempDir dir;
  auto path = recipe(dir, "");
  auto text = read_file(path);
  text.insert(text.find("dataset:"), "  torch_dtype: fp64\n");
  write_file_atomic(path, text);
  expect_clear_error(run_limited(path), {"field 'model.torch_dtype': expected auto, fp32, bf16 or fp16", "found 'fp64'"});
}

TEST(HostileInput, DeeplyNestedDatasetRowNamesFileAndLine) {
  TempDir dir;
  write_file_atomic(dir / "rows.jsonl", "{\"question\": \"q\", \"answer\": \"a\"}\n{\"question\": " +
                                            std::string(20000, '[') + std::string(20000, ']') + ", \"answer\": \"a\"}\n");
  expect_clear_error(run_limited(recipe(dir, "", stories(), (dir / "rows.jsonl").string())),
                     {"rows.jsonl", "on line 2", "nesting depth 20001", "limit of 512"});
}

TEST(HostileInput, TokenIdsBeyondTheModelVocabularyNameTheRow) {
  TempDir dir;
  auto folder = model_with(dir, [](nlohmann::json& config) { config["vocab_size"] = 300; });
  write_file_atomic(dir / "rows.jsonl", "{\"question\": \"Hi\", \"answer\": \"a\"}\n"
                                        "{\"question\": \"Once upon a time\", \"answer\": \"Lily\"}\n");
  auto o = run_limited(recipe(dir, "", folder, (dir / "rows.jsonl").string()));
  expect_clear_error(o, {"rows.jsonl line", "token id", "outside the model's vocabulary, expected 0 to 299",
                         "vocab_size 300 in " + (folder / "config.json").string(), "tokenizer has 512 tokens"});
  EXPECT_EQ(o.result.output.find("index out of range"), std::string::npos) << o.result.output;
}

}  // namespace
}  // namespace automodel
