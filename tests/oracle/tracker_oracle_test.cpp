// Experiment trackers read back by their own official readers: TensorBoard's EventAccumulator
// (tests/oracles/tensorboard_events.py) and MLflow's MlflowClient (tests/oracles/mlflow_runs.py,
// against the file store and a real `mlflow server` on loopback) find every scalar of
// training.jsonl / validation.jsonl at every step.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <unistd.h>

#include <csignal>
#include <map>
#include <random>
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

// The runs of `experiment` as MlflowClient reads them from `uri`.
nlohmann::json mlflow_runs(const std::string& uri, const std::string& experiment) {
  auto r = run_command("'" + testing::python() + "' '" + testing::oracle_script("mlflow_runs.py").string() + "' '" +
                       uri + "' '" + experiment + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto last = r.output.substr(r.output.rfind('\n', r.output.size() - 2) + 1);
  return r.exit_code == 0 ? nlohmann::json::parse(last) : nlohmann::json::array();
}

// One run, finished, with the recipe as params, config.yaml, the tags, and every jsonl scalar at
// every step (MLflow keeps doubles: equal exactly).
void expect_mlflow_run(const nlohmann::json& runs, const fs::path& ckpt) {
  ASSERT_EQ(runs.size(), 1u) << runs.dump();
  const auto& run = runs[0];
  EXPECT_EQ(run["status"], "FINISHED");
  EXPECT_EQ(run["run_name"], "r1");
  EXPECT_EQ(run["tags"]["team"], "llm");
  EXPECT_EQ(run["params"]["step_scheduler.max_steps"], "4");
  EXPECT_EQ(run["params"]["optimizer.lr"], "0.003");
  EXPECT_EQ(run["params"]["dataset.column_mapping"], "{'answer': 'answer', 'question': 'question'}");
  EXPECT_EQ(run["params"]["dataset.skip_invalid_samples"], "True");
  EXPECT_NE(std::find(run["artifacts"].begin(), run["artifacts"].end(), "config.yaml"), run["artifacts"].end())
      << run["artifacts"];
  std::map<std::string, std::map<int64_t, double>> expected;
  for (const auto* file : {"training.jsonl", "validation.jsonl"})
    for (const auto& line : read_jsonl(ckpt / file))
      for (const auto& [key, value] : line.items()) {
        if (key == "step" || key == "epoch" || value.is_null()) continue;
        if (std::string(file) == "validation.jsonl" && key != "val_loss") continue;
        expected[key][line["step"].get<int64_t>()] = value.get<double>();
      }
  EXPECT_EQ(run["metrics"].size(), expected.size()) << run["metrics"].dump();
  for (const auto& [key, steps] : expected) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(run["metrics"].contains(key));
    std::map<int64_t, double> got;
    for (const auto& p : run["metrics"][key]) got[p[0].get<int64_t>()] = p[1].get<double>();
    EXPECT_EQ(got, steps);
  }
}

constexpr const char* kMlflow = "mlflow:\n  experiment_name: exp1\n  run_name: r1\n  tags: {{team: llm}}\n  tracking_uri: {}\n";

TEST(MlflowOracle, FileStoreRunReadsBackThroughMlflowClient) {
  AUTOMODEL_REQUIRE_ORACLE("mlflow");
  TempDir dir;
  auto uri = "file:" + (dir / "mlruns").string();
  auto r = train(write_recipe(dir, fmt::format(kMlflow, uri)),
                 "--step_scheduler.max_steps=4 --step_scheduler.val_every_steps=2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_mlflow_run(mlflow_runs(uri, "exp1"), dir / "ckpt");
}

// `mlflow server` from PyPI on a loopback port (sqlite backend, proxied artifacts): the run is
// recorded through the REST API and read back by the client from the server.
TEST(MlflowOracle, ServerOnLoopbackRecordsTheRunThroughTheRestApi) {
  AUTOMODEL_REQUIRE_ORACLE("mlflow");
  TempDir dir;
  std::random_device rd;
  const int port = 20000 + static_cast<int>(rd() % 20000);
  auto started = run_command("'" + testing::python() + "' '" + testing::oracle_script("mlflow_runs.py").string() +
                             "' serve '" + (dir / "server").string() + "' " + std::to_string(port) + " > '" +
                             (dir / "server.log").string() + "' 2>&1 & echo $!");
  const pid_t server = static_cast<pid_t>(std::stol(started.output));
  struct Stop {
    pid_t pid;
    ~Stop() { ::kill(pid, SIGTERM); }
  } stop{server};
  const auto uri = fmt::format("http://127.0.0.1:{}", port);
  bool up = false;
  for (int i = 0; i < 120 && !up; ++i) {
    up = run_command("curl -sf -m 2 " + uri + "/health").exit_code == 0;
    if (!up) ::usleep(500000);
  }
  ASSERT_TRUE(up) << "mlflow server did not start:\n" << testing::read_fixture(dir / "server.log");
  auto r = train(write_recipe(dir, fmt::format(kMlflow, uri)),
                 "--step_scheduler.max_steps=4 --step_scheduler.val_every_steps=2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_mlflow_run(mlflow_runs(uri, "exp1"), dir / "ckpt");
}

TEST(MlflowOracle, UnreachableServerIsAnErrorAtStartNamingTheKey) {
  TempDir dir;
  auto r = train(write_recipe(dir, fmt::format(kMlflow, "http://127.0.0.1:9")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("mlflow.tracking_uri"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("http://127.0.0.1:9"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("step 1 |"), std::string::npos) << "trained before failing:\n" << r.output;
}

}  // namespace
}  // namespace automodel
