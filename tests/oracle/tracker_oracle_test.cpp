// Experiment trackers read back by their own official readers: TensorBoard's EventAccumulator
// (tests/oracles/tensorboard_events.py) finds every scalar of training.jsonl / validation.jsonl
// at every step, also across a resumed run.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "integration/finetune_util.h"
#include "test_util.h"

namespace automodel {
namespace {

// tag -> step -> value, as tensorboard's EventAccumulator reads the folder.
std::map<std::string, std::map<int64_t, double>> tensorboard_scalars(const fs::path& logdir) {
  auto r = run_command("'" + testing::python() + "' '" + testing::oracle_script("tensorboard_events.py").string() +
                       "' '" + logdir.string() + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, std::map<int64_t, double>> out;
  if (r.exit_code != 0) return out;
  const auto parsed = nlohmann::json::parse(r.output);
  for (const auto& [tag, points] : parsed.items())
    for (const auto& p : points) {
      EXPECT_FALSE(out[tag].count(p[0].get<int64_t>())) << tag << " twice at step " << p[0];
      out[tag][p[0].get<int64_t>()] = p[1].get<double>();
    }
  return out;
}

// Every key of every jsonl line is in the event files at that step, with the value as float32
// (TensorBoard scalars are float32), and nothing else is.
void expect_same_scalars(const std::map<std::string, std::map<int64_t, double>>& events, const fs::path& ckpt) {
  std::map<std::string, std::map<int64_t, double>> expected;
  for (const auto* file : {"training.jsonl", "validation.jsonl"})
    for (const auto& line : read_jsonl(ckpt / file))
      for (const auto& [key, value] : line.items()) {
        if (key == "step" || key == "epoch" || value.is_null()) continue;
        if (std::string(file) == "validation.jsonl" && key != "val_loss") continue;
        expected[key][line["step"].get<int64_t>()] = value.get<double>();
      }
  ASSERT_EQ(expected.size(), 9u);  // loss grad_norm lr tps tps_per_gpu mfu mem num_label_tokens val_loss
  for (const auto& [tag, steps] : expected) {
    SCOPED_TRACE(tag);
    auto it = events.find(tag);
    ASSERT_NE(it, events.end()) << "no events";
    EXPECT_EQ(it->second.size(), steps.size());
    for (const auto& [step, value] : steps) {
      auto at = it->second.find(step);
      ASSERT_NE(at, it->second.end()) << "no value at step " << step;
      EXPECT_EQ(at->second, static_cast<double>(static_cast<float>(value))) << "step " << step;
    }
  }
  EXPECT_EQ(events.size(), expected.size());
}

const char* kTensorBoard = "tensorboard:\n  name: run1\n";

TEST(TensorBoardOracle, EventReaderSeesEveryScalarAtEveryStep) {
  AUTOMODEL_REQUIRE_ORACLE("tensorboard");
  TempDir dir;
  auto r = train(write_recipe(dir, kTensorBoard), "--step_scheduler.max_steps=4 --step_scheduler.val_every_steps=2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto events = tensorboard_scalars(dir / "ckpt" / "tensorboard" / "run1");
  expect_same_scalars(events, dir / "ckpt");
  EXPECT_EQ(events["val_loss"].size(), 3u);  // before training, step 2, step 4
}

// A run resumed from step 2 logs steps 3-4 again in a new file; its restart marker makes the
// reader drop the first run's steps 3-4, so each step has the values training.jsonl kept.
TEST(TensorBoardOracle, ResumedRunSupersedesTheStepsItRepeats) {
  AUTOMODEL_REQUIRE_ORACLE("tensorboard");
  TempDir dir;
  auto recipe = write_recipe(dir, "tensorboard:\n  log_dir: " + (dir / "tb").string() + "\n");
  auto args = "--step_scheduler.max_steps=4 --step_scheduler.val_every_steps=2 --step_scheduler.ckpt_every_steps=2";
  auto first = train(recipe, args);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = train(recipe, std::string(args) + " --optimizer.lr=1.0e-3 --checkpoint.restore_from=" +
                                  (dir / "ckpt" / "epoch_0_step_2").string());
  ASSERT_EQ(second.exit_code, 0) << second.output;
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir / "tb")) files += e.path().filename().string().starts_with("events.");
  EXPECT_EQ(files, 2u);
  expect_same_scalars(tensorboard_scalars(dir / "tb"), dir / "ckpt");
}

TEST(TensorBoardOracle, UnwritableLogDirIsAnErrorAtStartNamingTheKey) {
  TempDir dir;
  std::ofstream(dir / "file") << "x";
  auto r = train(write_recipe(dir, "tensorboard:\n  log_dir: " + (dir / "file" / "tb").string() + "\n"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("tensorboard.log_dir"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find((dir / "file" / "tb").string()), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("step 1 |"), std::string::npos) << "trained before failing:\n" << r.output;
}

}  // namespace
}  // namespace automodel
