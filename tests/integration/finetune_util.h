// Shared by the fine-tuning CLI tests: a small GSM8K recipe on stories260K and log readers.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"

namespace automodel {

namespace fs = std::filesystem;
using testing::run_command;
using testing::TempDir;

inline std::string stories() { return (testing::fixtures_dir() / "stories260K").string(); }

// A small recipe: GSM8K question -> answer on stories260K, no shuffle unless asked.
inline std::string write_recipe(const TempDir& dir, const std::string& extra = "") {
  auto gsm = testing::fixtures_dir() / "datasets" / "gsm8k";
  std::string text = fmt::format(R"(
model:
  pretrained_model_name_or_path: {}
dataset:
  _target_: nemo_automodel.components.datasets.llm.column_mapped_text_instruction_dataset.ColumnMappedTextInstructionDataset
  path_or_dataset_id: {}
  column_mapping: {{question: question, answer: answer}}
  seq_length: 256
  limit_dataset_samples: 240
  skip_invalid_samples: true
validation_dataset:
  _target_: nemo_automodel.components.datasets.llm.column_mapped_text_instruction_dataset.ColumnMappedTextInstructionDataset
  path_or_dataset_id: {}
  column_mapping: {{question: question, answer: answer}}
  seq_length: 256
  limit_dataset_samples: 16
  skip_invalid_samples: true
step_scheduler:
  global_batch_size: 4
  local_batch_size: 4
  max_steps: 6
optimizer:
  _target_: torch.optim.AdamW
  lr: 3.0e-3
checkpoint:
  checkpoint_dir: {}
{}
)", stories(), (gsm / "train.jsonl.gz").string(), (gsm / "test.jsonl.gz").string(), (dir / "ckpt").string(), extra);
  auto path = dir / "recipe.yaml";
  std::ofstream(path) << text;
  return path.string();
}

inline const char* kLora = R"(
peft:
  _target_: nemo_automodel.components._peft.lora.PeftConfig
  dim: 8
  alpha: 32
)";

inline testing::CommandResult train(const std::string& recipe, const std::string& args = "") {
  return run_command(testing::automodel_binary() + " " + recipe + " " + args);
}

inline std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// A resumed run's training.jsonl against an uninterrupted one: same steps, and loss and
// grad_norm equal bit for bit.
inline void expect_identical_steps(const std::vector<nlohmann::json>& got, const std::vector<nlohmann::json>& expected) {
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i]["step"], expected[i]["step"]);
    EXPECT_EQ(got[i]["loss"].get<double>(), expected[i]["loss"].get<double>()) << "step " << i + 1;
    EXPECT_EQ(got[i]["grad_norm"].get<double>(), expected[i]["grad_norm"].get<double>()) << "step " << i + 1;
  }
}

inline double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-12); }

// Two runs that should agree up to summation order (another split of the global batch, process
// count or thread count): `steps` steps each, loss and grad_norm within 1e-5, same label tokens.
inline void expect_close_steps(const std::vector<nlohmann::json>& got, const std::vector<nlohmann::json>& expected,
                               size_t steps) {
  ASSERT_EQ(got.size(), steps);
  ASSERT_EQ(expected.size(), steps);
  for (size_t i = 0; i < steps; ++i) {
    EXPECT_LE(rel(got[i]["loss"], expected[i]["loss"]), 1e-5) << "step " << i + 1;
    EXPECT_LE(rel(got[i]["grad_norm"], expected[i]["grad_norm"]), 1e-5) << "step " << i + 1;
    EXPECT_EQ(got[i]["num_label_tokens"], expected[i]["num_label_tokens"]) << "step " << i + 1;
  }
}

}  // namespace automodel
