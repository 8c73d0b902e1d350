// Experiment trackers read back by their own official readers: TensorBoard's EventAccumulator
// (tests/oracles/tensorboard_events.py), MLflow's MlflowClient (tests/oracles/mlflow_runs.py,
// against the file store and a real `mlflow server` on loopback) and wandb's transaction-log
// reader and `wandb sync --view` (tests/oracles/wandb_runs.py) find every scalar of
// training.jsonl / validation.jsonl at every step; W&B online runs arrive at a loopback W&B server
// (tests/oracles/fake_wandb.py) that reads what the official client sends.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <nlohmann/json.hpp>

#include "integration/finetune_util.h"
#include "oracle/loopback_server.h"
#include "test_util.h"

namespace automodel {
namespace {

// jsonl key -> step -> value: every scalar training.jsonl holds and validation.jsonl's val_loss,
// what each tracker must show at each step.
std::map<std::string, std::map<int64_t, double>> jsonl_scalars(const fs::path& ckpt) {
  std::map<std::string, std::map<int64_t, double>> expected;
  for (const auto* file : {"training.jsonl", "validation.jsonl"})
    for (const auto& line : read_jsonl(ckpt / file))
      for (const auto& [key, value] : line.items()) {
        if (key == "step" || key == "epoch" || value.is_null()) continue;
        if (std::string(file) == "validation.jsonl" && key != "val_loss") continue;
        expected[key][line["step"].get<int64_t>()] = value.get<double>();
      }
  return expected;
}

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
  const auto expected = jsonl_scalars(ckpt);
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
  // config.yaml, and with mlflow.log_final_model the final checkpoint's model/ folder (a full
  // fine-tune: HF weights + config, and consolidated/).
  for (const auto* artifact : {"config.yaml", "model/model.safetensors", "model/config.json",
                               "model/consolidated/model.safetensors"})
    EXPECT_NE(std::find(run["artifacts"].begin(), run["artifacts"].end(), artifact), run["artifacts"].end())
        << artifact << " not in " << run["artifacts"];
  const auto expected = jsonl_scalars(ckpt);
  EXPECT_EQ(run["metrics"].size(), expected.size()) << run["metrics"].dump();
  for (const auto& [key, steps] : expected) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(run["metrics"].contains(key));
    std::map<int64_t, double> got;
    for (const auto& p : run["metrics"][key]) got[p[0].get<int64_t>()] = p[1].get<double>();
    EXPECT_EQ(got, steps);
  }
}

constexpr const char* kMlflow =
    "mlflow:\n  experiment_name: exp1\n  run_name: r1\n  tags: {{team: llm}}\n  log_final_model: true\n  tracking_uri: {}\n";

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

// --- W&B ---

nlohmann::json wandb_oracle(const std::string& args) {
  auto r = run_command("'" + testing::python() + "' '" + testing::oracle_script("wandb_runs.py").string() + "' " + args +
                       " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.exit_code == 0 ? nlohmann::json::parse(r.output) : nlohmann::json::object();
}

std::vector<fs::path> wandb_run_dirs(const fs::path& root) {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.path().filename().string().starts_with("offline-run-")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// Every row holds exactly the jsonl values of its step (plus _step/_runtime/_timestamp).
void expect_wandb_history(const nlohmann::json& history, const std::map<std::string, std::map<int64_t, double>>& expected,
                          int64_t from_step = 0) {
  std::map<int64_t, std::set<std::string>> keys_at;
  for (const auto& [key, steps] : expected)
    for (const auto& [step, value] : steps) {
      if (step < from_step) continue;
      SCOPED_TRACE(key + " at step " + std::to_string(step));
      keys_at[step].insert(key);
      const auto row = history.find(std::to_string(step));
      ASSERT_NE(row, history.end()) << "no row";
      ASSERT_TRUE(row->contains(key)) << row->dump();
      EXPECT_EQ((*row)[key].get<double>(), value);
    }
  EXPECT_EQ(history.size(), keys_at.size()) << history.dump();
  for (const auto& [step, row] : history.items())
    EXPECT_EQ(row.size(), keys_at[std::stoll(step)].size() + 3) << row.dump();
}

TEST(WandbOracle, OfflineRunReadsBackThroughWandbsReaderAndSyncView) {
  AUTOMODEL_REQUIRE_ORACLE("wandb");
  TempDir dir;
  auto r = train(write_recipe(dir, "wandb:\n  project: p1\n  entity: e1\n  name: r1\n  tags: [a, b]\n  group: g1\n"
                                   "  notes: first try\n  job_type: sft\n  mode: offline\n  dir: " +
                                       (dir / "wb").string() + "\n"),
                 "--step_scheduler.max_steps=4 --step_scheduler.val_every_steps=2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto runs = wandb_run_dirs(dir / "wb" / "wandb");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(fs::read_symlink(dir / "wb" / "wandb" / "latest-run"), runs[0].filename());
  auto run = wandb_oracle("'" + runs[0].string() + "'");
  ASSERT_FALSE(run.empty());
  const auto& info = run["run"];
  const auto id = testing::read_fixture(dir / "ckpt" / "wandb_run_id");
  EXPECT_TRUE(runs[0].filename().string().ends_with("-" + id)) << runs[0];
  EXPECT_EQ(info["run_id"], id);
  EXPECT_EQ(info["project"], "p1");
  EXPECT_EQ(info["entity"], "e1");
  EXPECT_EQ(info["display_name"], "r1");
  EXPECT_EQ(info["tags"], nlohmann::json({"a", "b"}));
  EXPECT_EQ(info["run_group"], "g1");
  EXPECT_EQ(info["notes"], "first try");
  EXPECT_EQ(info["job_type"], "sft");
  // The config is the resolved recipe, section by section (as AutoModel passes cfg.to_dict()).
  EXPECT_EQ(info["config"]["step_scheduler"]["max_steps"], 4);
  EXPECT_EQ(info["config"]["optimizer"]["lr"], 0.003);
  EXPECT_EQ(info["config"]["wandb"]["project"], "p1");
  EXPECT_TRUE(info["config"].contains("model") && info["config"].contains("dataset")) << info["config"].dump();
  const auto expected = jsonl_scalars(dir / "ckpt");
  ASSERT_EQ(expected.size(), 9u);
  expect_wandb_history(run["history"], expected);
  EXPECT_EQ(run["history"].size(), 5u);  // validation before training (step 0), steps 1-4
  // Summary: each key's last value.
  for (const auto& [key, steps] : expected) EXPECT_EQ(run["summary"][key].get<double>(), steps.rbegin()->second) << key;
  EXPECT_EQ(run["summary"]["_step"], 4);
  EXPECT_EQ(run["records"].front(), "header");
  EXPECT_EQ(run["records"][1], "run");
  EXPECT_EQ(run["records"].back(), "exit");
  EXPECT_EQ(run["exit"]["exit_code"], 0);
  EXPECT_EQ(run["view_records"], run["records"].size());
}

// A resumed training writes a second folder under the same run id (what `wandb sync` appends):
// its rows are the steps after the checkpoint, with the values training.jsonl kept.
TEST(WandbOracle, ResumedTrainingContinuesTheRunInANewFolder) {
  AUTOMODEL_REQUIRE_ORACLE("wandb");
  TempDir dir;
  auto recipe = write_recipe(dir, "wandb:\n  mode: offline\n  dir: " + (dir / "wb").string() + "\n");
  auto args = "--step_scheduler.max_steps=4 --step_scheduler.val_every_steps=2 --step_scheduler.ckpt_every_steps=2";
  auto first = train(recipe, args);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ::sleep(1);  // folders are named by the second the run started
  auto second = train(recipe, std::string(args) + " --optimizer.lr=1.0e-3 --checkpoint.restore_from=" +
                                  (dir / "ckpt" / "epoch_0_step_2").string());
  ASSERT_EQ(second.exit_code, 0) << second.output;
  auto runs = wandb_run_dirs(dir / "wb" / "wandb");
  ASSERT_EQ(runs.size(), 2u);
  auto a = wandb_oracle("'" + runs[0].string() + "'"), b = wandb_oracle("'" + runs[1].string() + "'");
  EXPECT_EQ(a["run"]["run_id"], b["run"]["run_id"]);
  EXPECT_EQ(b["run"]["display_name"], "fixtures_stories260K") << "AutoModel's default: the path's last two parts";
  expect_wandb_history(b["history"], jsonl_scalars(dir / "ckpt"), 3);
}

// --- W&B online, against tests/oracles/fake_wandb.py on loopback ---

constexpr const char* kWandbKey = "0123456789abcdef0123456789abcdef01234567";

// The fake W&B server on a free loopback port, stopped at the end.
class FakeWandb {
 public:
  FakeWandb() : server_("fake_wandb.py", fmt::format("0 {}", kWandbKey)) {}
  bool up() const { return server_.up(); }
  std::string url() const { return server_.url(); }
  nlohmann::json runs() const { return nlohmann::json::parse(run_command("curl -sf -m 5 " + url() + "/_runs").output); }
  void fail_file_streams(int n) const {
    run_command(fmt::format("curl -sf -m 5 -X POST --data '{{\"file_stream\": {}}}' {}/_faults", n, url()));
  }

 private:
  testing::LoopbackServer server_;
};

// A run's history lines keyed by step (the server keys them by offset).
nlohmann::json history_by_step(const nlohmann::json& run) {
  nlohmann::json by_step = nlohmann::json::object();
  for (const auto& [line, row] : run["history"].items()) by_step[std::to_string(row["_step"].get<int64_t>())] = row;
  return by_step;
}

// The server understands the official client: a run logged by `wandb` itself (online) arrives
// with its config, every history row, the summary and the exit code. (What makes the next test's
// checks mean "speaks W&B's protocol".)
TEST(WandbOnline, FakeServerReadsWhatTheOfficialClientSends) {
  AUTOMODEL_REQUIRE_ORACLE("wandb");
  FakeWandb server;
  ASSERT_TRUE(server.up());
  auto r = run_command("'" + testing::python() + "' '" + testing::oracle_script("fake_wandb.py").string() +
                       "' --client " + server.url() + " " + kWandbKey + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto runs = server.runs();
  ASSERT_EQ(runs.size(), 1u) << runs.dump();
  const auto& run = runs.begin().value();
  EXPECT_EQ(run["upsert"]["displayName"], "official");
  EXPECT_EQ(run["upsert"]["tags"], nlohmann::json({"t"}));
  EXPECT_EQ(run["config"]["optimizer"]["lr"], 0.1);
  ASSERT_EQ(run["history"].size(), 3u) << run.dump();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(run["history"][std::to_string(i)]["_step"], i + 1);
    EXPECT_DOUBLE_EQ(run["history"][std::to_string(i)]["loss"].get<double>(), 1.0 / (i + 1));
  }
  EXPECT_EQ(run["summary"]["_step"], 3);
  EXPECT_TRUE(run["complete"].get<bool>());
  EXPECT_EQ(run["exitcode"], 0);
}

TEST(WandbOnline, TrainingStreamsConfigEveryScalarSummaryAndExitCode) {
  AUTOMODEL_REQUIRE_ORACLE("wandb");
  FakeWandb server;
  ASSERT_TRUE(server.up());
  TempDir dir;
  auto r = run_command(fmt::format("WANDB_API_KEY={} WANDB_BASE_URL={} {} {} {} 2>&1", kWandbKey, server.url(),
                                   testing::automodel_binary(),
                                   write_recipe(dir, "wandb:\n  project: p1\n  name: r1\n  tags: [a, b]\n  group: g1\n"
                                                     "  notes: first try\n  job_type: sft\n  dir: " +
                                                         (dir / "wb").string() + "\n"),
                                   "--step_scheduler.max_steps=4 --step_scheduler.val_every_steps=2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto id = testing::read_fixture(dir / "ckpt" / "wandb_run_id");
  auto runs = server.runs();
  // No entity given: the server files the run under the key owner's default entity.
  const auto key = "default-entity/p1/" + id;
  ASSERT_TRUE(runs.contains(key)) << runs.dump();
  const auto& run = runs[key];
  EXPECT_EQ(run["upsert"]["displayName"], "r1");
  EXPECT_EQ(run["upsert"]["tags"], nlohmann::json({"a", "b"}));
  EXPECT_EQ(run["upsert"]["groupName"], "g1");
  EXPECT_EQ(run["upsert"]["notes"], "first try");
  EXPECT_EQ(run["upsert"]["jobType"], "sft");
  EXPECT_EQ(run["config"]["step_scheduler"]["max_steps"], 4);
  EXPECT_EQ(run["config"]["optimizer"]["lr"], 0.003);
  auto by_step = history_by_step(run);
  const auto expected = jsonl_scalars(dir / "ckpt");
  ASSERT_EQ(expected.size(), 9u);
  expect_wandb_history(by_step, expected);
  EXPECT_EQ(run["history"].size(), 5u);  // validation before training (step 0), steps 1-4
  for (const auto& [name, steps] : expected) EXPECT_EQ(run["summary"][name].get<double>(), steps.rbegin()->second) << name;
  EXPECT_TRUE(run["complete"].get<bool>());
  EXPECT_EQ(run["exitcode"], 0);
  // The local copy, for `wandb sync` should an upload fail, is wandb's online folder.
  bool local = false;
  for (const auto& e : fs::directory_iterator(dir / "wb" / "wandb"))
    local |= e.path().filename().string().starts_with("run-") && e.path().filename().string().ends_with("-" + id);
  EXPECT_TRUE(local);
  EXPECT_NE(r.output.find(server.url() + "/default-entity/p1/runs/" + id), std::string::npos) << r.output;
}

// A flaky server: the upload is retried and training goes on; a resumed training continues the
// run's history after the lines the server holds (nothing overwritten).
TEST(WandbOnline, FailedUploadsAreRetriedAndResumedRunsAppend) {
  AUTOMODEL_REQUIRE_ORACLE("wandb");
  FakeWandb server;
  ASSERT_TRUE(server.up());
  TempDir dir;
  auto recipe = write_recipe(dir, "wandb:\n  project: p1\n  dir: " + (dir / "wb").string() + "\n");
  const auto env = fmt::format("WANDB_API_KEY={} WANDB_BASE_URL={}", kWandbKey, server.url());
  const std::string args = "--step_scheduler.max_steps=4 --step_scheduler.val_every_steps=2 "
                           "--step_scheduler.ckpt_every_steps=2";
  server.fail_file_streams(2);
  auto first = run_command(fmt::format("{} {} {} {} 2>&1", env, testing::automodel_binary(), recipe, args));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("HTTP 503"), std::string::npos) << "the retries are logged:\n" << first.output;
  const auto key = "default-entity/p1/" + testing::read_fixture(dir / "ckpt" / "wandb_run_id");
  auto run = server.runs()[key];
  ASSERT_EQ(run["history"].size(), 5u) << run.dump();
  auto before = run["history"];
  auto second = run_command(fmt::format("{} {} {} {} --checkpoint.restore_from={} 2>&1", env, testing::automodel_binary(),
                                        recipe, args, (dir / "ckpt" / "epoch_0_step_2").string()));
  ASSERT_EQ(second.exit_code, 0) << second.output;
  run = server.runs()[key];
  ASSERT_EQ(run["history"].size(), 7u) << run.dump();  // steps 3 and 4 again, after the first run's lines
  for (const auto& [line, row] : before.items()) EXPECT_EQ(run["history"][line], row) << "line " << line;
  EXPECT_EQ(run["history"]["5"]["_step"], 3);
  EXPECT_EQ(run["history"]["6"]["_step"], 4);
  EXPECT_EQ(run["exitcode"], 0);
}

TEST(WandbOnline, RejectedKeyStopsTheRunBeforeTraining) {
  FakeWandb server;
  ASSERT_TRUE(server.up());
  TempDir dir;
  auto r = run_command(fmt::format("WANDB_API_KEY=wrong-key WANDB_BASE_URL={} {} {} 2>&1", server.url(),
                                   testing::automodel_binary(),
                                   write_recipe(dir, "wandb:\n  mode: online\n  dir: " + (dir / "wb").string() + "\n")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("rejected WANDB_API_KEY (HTTP 401)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("step 1 |"), std::string::npos) << "trained before failing:\n" << r.output;
}

TEST(WandbOnline, UnreachableServerOrMissingKeyStopsTheRunBeforeTraining) {
  TempDir dir;
  auto recipe = write_recipe(dir, "wandb:\n  mode: online\n  dir: " + (dir / "wb").string() + "\n");
  auto unreachable = run_command(fmt::format("WANDB_API_KEY={} WANDB_BASE_URL=http://127.0.0.1:9 {} {} 2>&1",
                                             kWandbKey, testing::automodel_binary(), recipe));
  EXPECT_NE(unreachable.exit_code, 0);
  EXPECT_NE(unreachable.output.find("cannot reach W&B at http://127.0.0.1:9"), std::string::npos) << unreachable.output;
  EXPECT_NE(unreachable.output.find("wandb sync"), std::string::npos) << unreachable.output;
  auto keyless = run_command("env -u WANDB_API_KEY " + testing::automodel_binary() + " " + recipe + " 2>&1");
  EXPECT_NE(keyless.exit_code, 0);
  EXPECT_NE(keyless.output.find("wandb.mode: online needs WANDB_API_KEY"), std::string::npos) << keyless.output;
  for (const auto* r : {&unreachable, &keyless})
    EXPECT_EQ(r->output.find("step 1 |"), std::string::npos) << "trained before failing:\n" << r->output;
}

}  // namespace
}  // namespace automodel
