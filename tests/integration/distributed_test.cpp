// Multi-process training on CPU (Gloo) through the CLI launcher: DDP equals one process at the
// same global batch (full and LoRA), a killed rank stops every rank with its name and the run
// resumes bit for bit, and bad setups fail with clear errors instead of hanging.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "automodel/common/torch_util.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"

#include <random>

#include "automodel/common/atomic_file.h"
#include "finetune_util.h"

namespace automodel {
namespace {

const char* kDdp = R"(
distributed:
  strategy: ddp
dist_env:
  timeout_minutes: 1
)";

double max_weight_diff(const fs::path& a, const fs::path& b) {
  auto fa = hf::SafetensorsCheckpoint::open(a), fb = hf::SafetensorsCheckpoint::open(b);
  double worst = 0;
  for (const auto& name : fa.names()) {
    auto ta = tensor_from_view(fa.get(name), at::kFloat, c10::kCPU);
    auto tb = tensor_from_view(fb.get(name), at::kFloat, c10::kCPU);
    worst = std::max(worst, (ta - tb).abs().max().item<double>() / std::max(tb.abs().max().item<double>(), 1e-12));
  }
  return worst;
}

// Adam divides by sqrt(v): for gradients near zero a last-bit difference (the all-reduce adds in
// another order) becomes a +-lr step. eps = 1 keeps the update continuous in the gradient, so the
// final weights show whether both runs applied the same gradients.
void expect_same_run(const std::string& extra, const std::string& weights, const std::string& strategy = "ddp",
                     const std::string& args = "") {
  TempDir one, two;
  const std::string common =
      "--step_scheduler.max_steps=3 --optimizer.eps=1.0 --distributed.strategy=" + strategy + " " + args;
  auto r1 = train(write_recipe(one, std::string(kDdp) + extra), common);
  auto r2 = train(write_recipe(two, std::string(kDdp) + extra),
                  common + " --nproc-per-node 2 --step_scheduler.local_batch_size=2");
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  expect_close_steps(read_jsonl(two / "ckpt/training.jsonl"), read_jsonl(one / "ckpt/training.jsonl"), 3);
  // fsdp2 full fine-tunes keep one shard per rank in model/ (no gather): compare the HF folders.
  if (!(strategy == "fsdp2" && weights.empty()))
    EXPECT_LE(max_weight_diff(two / "ckpt/epoch_0_step_3/model" / weights, one / "ckpt/epoch_0_step_3/model" / weights),
              1e-5);
  // The consolidated HF folders (written layer by layer under fsdp2) hold the same weights.
  EXPECT_LE(max_weight_diff(two / "ckpt/epoch_0_step_3/model/consolidated", one / "ckpt/epoch_0_step_3/model/consolidated"),
            1e-5);
}

// Full fine-tunes compare the model folders (fsdp2 writes one shard per layer, plus an index).
TEST(Distributed, DdpTwoProcessesEqualOneProcessAtTheSameGlobalBatchFull) { expect_same_run("", ""); }

TEST(Distributed, DdpTwoProcessesEqualOneProcessAtTheSameGlobalBatchLora) {
  expect_same_run(kLora, "adapter_model.safetensors");
}

TEST(Distributed, FsdpTwoProcessesEqualOneProcessAtTheSameGlobalBatchFull) {
  expect_same_run("", "", "fsdp2");
}

TEST(Distributed, FsdpTwoProcessesEqualOneProcessAtTheSameGlobalBatchLoraWithAShardedFrozenBase) {
  expect_same_run(kLora, "adapter_model.safetensors", "fsdp2");
}

// Layers stay gathered from their forward to their backward: no recomputation, same results.
TEST(Distributed, FsdpWithoutReshardingAfterForwardEqualsOneProcess) {
  expect_same_run("", "", "fsdp2", "--distributed.reshard_after_forward=false");
}

TEST(Distributed, FsdpWithoutReshardingButWithActivationCheckpointingEqualsOneProcessLora) {
  expect_same_run(kLora, "adapter_model.safetensors", "fsdp2",
                  "--distributed.reshard_after_forward=false --distributed.activation_checkpointing=true");
}

// A tiny random model of `model_type` (the registry's tiny config, with `changes`) and
// stories260K's tokenizer, so that the test recipe trains it.
std::string write_tiny_model(const TempDir& dir, const std::string& model_type, const nlohmann::json& changes = {}) {
  auto config = nlohmann::json::parse(models::find_architecture(model_type).tiny_config_json);
  config["vocab_size"] = 512;
  if (config.contains("vocab_size_per_layer_input")) config["vocab_size_per_layer_input"] = 512;  // indexed by the same ids
  config[model_type == "gpt2" ? "n_positions" : "max_position_embeddings"] = 512;
  if (changes.is_object()) config.update(changes);
  auto folder = dir / ("tiny_" + model_type);
  fs::create_directories(folder);
  std::ofstream(folder / "config.json") << config.dump(2);
  auto model = models::build_model(hf::parse_model_config(config.dump(), "tiny " + model_type), at::kFloat, at::kCPU);
  models::init_random(*model, 7);
  models::save_weights(*model, folder);
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(fs::path(stories()) / file, folder / file);
  return folder.string();
}

// Fixed-length mock rows (no padding that depends on how the batch is split).
const char* kMockRows = " --dataset=null --dataset._target_=nemo_automodel.components.datasets.llm.mock_iterable_dataset."
                        "MockIterableDataset --dataset.vocab_size=512 --dataset.seq_len=64 --dataset.num_samples=64";

// Experts that no token of a rank's batch reaches get no gradient on that rank only: the
// reductions must still pair up (DDP buckets in order, fsdp2 per layer), and an expert no rank
// used must stay untouched by the optimizer, as in one process. Mock rows all have the same
// length: padding tokens are routed too (as in HF), so padding that depends on how the batch is
// split would touch other experts.
class MixtureOfExperts : public ::testing::TestWithParam<std::string> {};

TEST_P(MixtureOfExperts, TwoProcessesEqualOneProcessAtTheSameGlobalBatch) {
  TempDir models;
  // Many experts, one per token: each rank's batch leaves a different set of experts unused.
  auto folder = write_tiny_model(models, "mixtral", {{"num_local_experts", 128}, {"num_experts_per_tok", 1}});
  expect_same_run("", "", GetParam(),
                  "--model.pretrained_model_name_or_path=" + folder + " --distributed.bucket_cap_mb=0.01" + kMockRows);
}

INSTANTIATE_TEST_SUITE_P(Distributed, MixtureOfExperts, ::testing::Values("ddp", "fsdp2"),
                         [](const auto& info) { return info.param; });

// fsdp2 finds each architecture's decoder layers by name (layer_prefix) and runs them through
// the model's layer hook: every registered architecture shards and trains as one process does.
class EveryArchitecture : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryArchitecture, FsdpTwoProcessesEqualOneProcess) {
  TempDir models;
  expect_same_run("", "", "fsdp2",
                  "--model.pretrained_model_name_or_path=" + write_tiny_model(models, GetParam()) + kMockRows);
}

std::vector<std::string> model_types() {
  std::vector<std::string> out;
  for (const auto& arch : models::architectures()) out.push_back(arch.model_type);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Distributed, EveryArchitecture, ::testing::ValuesIn(model_types()),
                         [](const auto& info) { return info.param; });

// "rank R: training state ... = P B (parameters + gradients) + O B (optimizer)" -> P + O
double state_bytes(const std::string& output, int rank) {
  auto at = output.find(fmt::format("rank {}: training state", rank));
  if (at == std::string::npos) return -1;
  auto eq = output.find("= ", at);
  double params = std::stod(output.substr(eq + 2));
  auto plus = output.find(") + ", eq);
  return params + std::stod(output.substr(plus + 4));
}

TEST(Distributed, FsdpHalvesEachRanksParameterGradientAndOptimizerState) {
  TempDir one, two;
  auto r1 = train(write_recipe(one, kDdp), "--step_scheduler.max_steps=1 --distributed.strategy=fsdp2");
  auto r2 = train(write_recipe(two, kDdp), "--step_scheduler.max_steps=1 --distributed.strategy=fsdp2 "
                                           "--nproc-per-node 2 --step_scheduler.local_batch_size=2");
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  double single = state_bytes(r1.output, 0), rank0 = state_bytes(r2.output, 0), rank1 = state_bytes(r2.output, 1);
  ASSERT_GT(single, 0) << r1.output;
  EXPECT_NEAR(rank0 / single, 0.5, 0.01) << r2.output;
  EXPECT_NEAR(rank1 / single, 0.5, 0.01) << r2.output;
}

class FsdpResume : public ::testing::TestWithParam<bool> {};

// LoRA checkpoints hold the adapter; full ones each rank's own model shard.
TEST_P(FsdpResume, IsBitForBit) {
  TempDir ref, run;
  const std::string extra = std::string(kDdp) + (GetParam() ? kLora : "");
  const std::string args = "--distributed.strategy=fsdp2 --nproc-per-node 2 --step_scheduler.local_batch_size=2 "
                           "--step_scheduler.ckpt_every_steps=2 --dataloader.shuffle=true";
  auto r = train(write_recipe(ref, extra), args + " --step_scheduler.max_steps=6");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto recipe = write_recipe(run, extra);
  ASSERT_EQ(train(recipe, args + " --step_scheduler.max_steps=4").exit_code, 0);
  auto done = train(recipe, args + " --step_scheduler.max_steps=6");
  ASSERT_EQ(done.exit_code, 0) << done.output;
  auto expected = read_jsonl(ref / "ckpt/training.jsonl"), got = read_jsonl(run / "ckpt/training.jsonl");
  ASSERT_EQ(expected.size(), 6u);
  expect_identical_steps(got, expected);
  if (!GetParam()) EXPECT_TRUE(fs::exists(run / "ckpt/epoch_0_step_4/model/fsdp_shard_rank1.safetensors"));
}

INSTANTIATE_TEST_SUITE_P(Distributed, FsdpResume, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Lora" : "Full"; });

// save_consolidated as AutoModel has it: every checkpoint (true / every), the last one (final, the
// default) or none (false); `automodel consolidate` joins a checkpoint's fsdp2 slices later into
// the same weights training would have written.
TEST(Distributed, ConsolidatedFoldersFollowSaveConsolidatedAndConsolidateWritesThemLater) {
  TempDir every, final_only, none;
  const std::string args = "--distributed.strategy=fsdp2 --nproc-per-node 2 --step_scheduler.local_batch_size=2 "
                           "--step_scheduler.max_steps=2 --step_scheduler.ckpt_every_steps=1";
  ASSERT_EQ(train(write_recipe(every, kDdp), args + " --checkpoint.save_consolidated=true").exit_code, 0);
  ASSERT_EQ(train(write_recipe(final_only, kDdp), args).exit_code, 0);
  ASSERT_EQ(train(write_recipe(none, kDdp), args + " --checkpoint.save_consolidated=false").exit_code, 0);
  EXPECT_TRUE(fs::exists(every / "ckpt/epoch_0_step_1/model/consolidated/config.json"));
  EXPECT_FALSE(fs::exists(final_only / "ckpt/epoch_0_step_1/model/consolidated"));
  EXPECT_TRUE(fs::exists(final_only / "ckpt/epoch_0_step_2/model/consolidated/config.json"));
  auto checkpoint = none / "ckpt/epoch_0_step_2";
  ASSERT_FALSE(fs::exists(checkpoint / "model/consolidated"));
  auto consolidate = testing::automodel_binary() + " consolidate " + checkpoint.string();
  auto c = run_command(consolidate);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_TRUE(fs::exists(checkpoint / "model/consolidated/config.json"));
  EXPECT_TRUE(fs::exists(checkpoint / "model/consolidated/tokenizer.json"));
  EXPECT_EQ(max_weight_diff(checkpoint / "model/consolidated", every / "ckpt/epoch_0_step_2/model/consolidated"), 0.0);
  auto again = run_command(consolidate);
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("exists already"), std::string::npos) << again.output;
}

// A run continues with another number of processes at the same global batch: fsdp2 checkpoints
// are re-sliced (2 -> 4 processes, then 4 -> 1 process, whole tensors), the position in the data
// follows the local batch size, and the losses stay those of an uninterrupted run (eps = 1 as in
// expect_same_run: the reductions add in another order). With 4 ranks and 3 validation rows, one
// fsdp2 rank has no validation batch but must still join every layer's all-gather.
class ResumeWithAnotherProcessCount : public ::testing::TestWithParam<bool> {};

TEST_P(ResumeWithAnotherProcessCount, KeepsTheLossesOfAnUninterruptedRun) {
  TempDir ref, run;
  const std::string extra = std::string(kDdp) + (GetParam() ? kLora : "");
  const std::string common = "--distributed.strategy=fsdp2 --optimizer.eps=1.0 --step_scheduler.ckpt_every_steps=2 "
                             "--dataloader.shuffle=true";
  auto r = train(write_recipe(ref, extra), common + " --step_scheduler.max_steps=6");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto recipe = write_recipe(run, extra);
  for (const char* stage : {"--step_scheduler.max_steps=2 --nproc-per-node 2 --step_scheduler.local_batch_size=2",
                            "--step_scheduler.max_steps=4 --nproc-per-node 4 --step_scheduler.local_batch_size=1",
                            "--step_scheduler.max_steps=6"}) {
    auto part = train(recipe, common + " " + stage);
    ASSERT_EQ(part.exit_code, 0) << stage << "\n" << part.output;
  }
  expect_close_steps(read_jsonl(run / "ckpt/training.jsonl"), read_jsonl(ref / "ckpt/training.jsonl"), 6);
  EXPECT_LE(max_weight_diff(run / "ckpt/epoch_0_step_6/model/consolidated", ref / "ckpt/epoch_0_step_6/model/consolidated"),
            1e-5);
}

INSTANTIATE_TEST_SUITE_P(Distributed, ResumeWithAnotherProcessCount, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Lora" : "Full"; });

TEST(Distributed, AKilledRankStopsAllRanksNamingItAndTheRunResumesBitForBit) {
  TempDir ref, run;
  const std::string args = "--step_scheduler.max_steps=8 --step_scheduler.ckpt_every_steps=2 --nproc-per-node 2 "
                           "--step_scheduler.local_batch_size=2 --dataloader.shuffle=true";
  auto r = train(write_recipe(ref, std::string(kDdp) + kLora), args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto expected = read_jsonl(ref / "ckpt/training.jsonl");
  ASSERT_EQ(expected.size(), 8u);
  auto recipe = write_recipe(run, std::string(kDdp) + kLora);
  // Start the run, wait for its first checkpoint, then SIGKILL rank 1 (the launcher's child).
  auto killed = run_command("bash -c '" + testing::automodel_binary() + " " + recipe + " " + args +
                            " & L=$!; for i in $(seq 600); do [ -e " + (run / "ckpt/LATEST").string() +
                            " ] && break; sleep 0.05; done; "
                            "pkill -KILL -f -n \"" + recipe + "\" ; wait $L; echo launcher_exit=$?'");
  EXPECT_NE(killed.output.find("failed (killed by signal 9"), std::string::npos) << killed.output;
  EXPECT_NE(killed.output.find("launcher_exit=1"), std::string::npos) << killed.output;
  auto done = train(recipe, args);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  auto got = read_jsonl(run / "ckpt/training.jsonl");
  expect_identical_steps(got, expected);
}

// Without the launcher (torchrun-style variables, as under srun or mpirun), a SIGKILLed rank
// leaves no message of its own: the surviving rank's failed collective asks the rendezvous store
// what the others reported and names the rank that said nothing, well before timeout_minutes.
TEST(Distributed, WithoutTheLauncherTheSurvivorNamesTheKilledRank) {
  TempDir dir;
  auto recipe = write_recipe(dir, std::string(kDdp) + kLora);
  auto port = std::to_string(30000 + std::random_device{}() % 20000);
  auto rank = [&](int r) {
    return "RANK=" + std::to_string(r) + " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port + " " +
           testing::automodel_binary() + " " + recipe +
           " --step_scheduler.max_steps=400 --step_scheduler.ckpt_every_steps=2 --step_scheduler.local_batch_size=2 " +
           "> " + (dir / fmt::format("rank{}.log", r)).string() + " 2>&1";
  };
  auto result = run_command("bash -c '" + rank(0) + " & P0=$!; " + rank(1) + " & P1=$!; for i in $(seq 600); do [ -e " +
                            (dir / "ckpt/LATEST").string() + " ] && break; sleep 0.05; done; kill -KILL $P1; " +
                            "S=$SECONDS; wait $P0; echo rank0_exit=$? after=$((SECONDS - S))s'");
  auto log0 = read_file(dir / "rank0.log");
  EXPECT_NE(result.output.find("rank0_exit=1"), std::string::npos) << result.output << log0;
  EXPECT_NE(log0.find("rank 1 stopped without reporting an error (killed"), std::string::npos) << log0;
  auto after = result.output.find("after=");
  ASSERT_NE(after, std::string::npos) << result.output;
  EXPECT_LT(std::stoi(result.output.substr(after + 6)), 30) << result.output;  // timeout_minutes is 1
}

TEST(Distributed, BadSetupsFailWithClearErrorsInsteadOfHanging) {
  TempDir dir;
  auto recipe = write_recipe(dir, kDdp);
  auto uneven = train(recipe, "--nproc-per-node 3");
  EXPECT_NE(uneven.exit_code, 0);
  EXPECT_NE(uneven.output.find("must be a multiple of local_batch_size (4) x processes (3)"), std::string::npos)
      << uneven.output;
  auto unreachable = run_command("RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=9 " +
                                 testing::automodel_binary() + " " + recipe + " --dist_env.timeout_minutes=0.05");
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.output.find("rank 1 of 2 could not join the process group at 127.0.0.1:9"), std::string::npos)
      << unreachable.output;
  // Rank 1 gets another learning rate through the environment: every rank says so.
  auto port = std::to_string(30000 + std::random_device{}() % 20000);
  auto mismatched = run_command("(RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port + " LR=1e-3 " +
                                testing::automodel_binary() + " " + recipe + " --optimizer.lr='${LR}' & " +
                                "RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port + " LR=2e-3 " +
                                testing::automodel_binary() + " " + recipe + " --optimizer.lr='${LR}'; wait)");
  EXPECT_NE(mismatched.output.find("rank 0: the recipe differs between ranks (rank(s) 1 differ"), std::string::npos)
      << mismatched.output;
  EXPECT_NE(mismatched.output.find("rank 1: the recipe differs between ranks"), std::string::npos) << mismatched.output;
  auto dp = train(recipe, "--nproc-per-node 2 --step_scheduler.local_batch_size=2 --distributed.dp_size=4");
  EXPECT_NE(dp.exit_code, 0);
  EXPECT_NE(dp.output.find("distributed.dp_size is 4 but 2 process(es) run"), std::string::npos) << dp.output;
  auto tp = train(recipe, "--nproc-per-node 2 --step_scheduler.local_batch_size=2 --distributed.tp_size=2");
  EXPECT_NE(tp.exit_code, 0);
  EXPECT_NE(tp.output.find("tp_size' = 2: tensor/context/pipeline/expert parallelism is not supported yet"),
            std::string::npos)
      << tp.output;
}

}  // namespace
}  // namespace automodel

namespace automodel {
namespace {

// The generated batch script passes shellcheck and, run under a fake `srun` that starts 2 tasks
// with the SLURM_* variables srun sets, trains to the launcher's losses.
TEST(Slurm, BatchScriptPassesShellcheckAndTrainsLikeTheLauncher) {
  TempDir dir;
  auto recipe = write_recipe(dir, kDdp);
  const std::string overrides = " --step_scheduler.max_steps=3 --step_scheduler.local_batch_size=2";
  auto script = dir / "job.sh";
  auto w = run_command(testing::automodel_binary() + " slurm " + recipe + " --nodes 1 --gpus-per-node 2 --out " +
                       script.string() + " -- --checkpoint.checkpoint_dir=" + (dir / "slurm_ckpt").string() + overrides);
  ASSERT_EQ(w.exit_code, 0) << w.output;
  auto text = read_file(script);
  EXPECT_NE(text.find("#SBATCH --nodes=1"), std::string::npos) << text;
  EXPECT_NE(text.find("#SBATCH --ntasks-per-node=2"), std::string::npos) << text;
  EXPECT_NE(text.find("#SBATCH --signal=USR1@"), std::string::npos) << text;
  if (run_command("command -v shellcheck").exit_code == 0) {
    auto sc = run_command("shellcheck " + script.string());
    EXPECT_EQ(sc.exit_code, 0) << sc.output;
  }
  fs::create_directories(dir / "bin");
  std::ofstream(dir / "bin" / "srun") << R"(#!/bin/bash
# Fake srun: starts 2 tasks of the command with the variables srun sets.
while [[ $1 == --* ]]; do shift; done
pids=()
for r in 0 1; do
  SLURM_PROCID=$r SLURM_LOCALID=$r SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=2 "$@" &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc
)";
  std::ofstream(dir / "bin" / "scontrol") << "#!/bin/bash\necho 127.0.0.1\n";
  run_command("chmod +x " + (dir / "bin" / "srun").string() + " " + (dir / "bin" / "scontrol").string());
  auto port = std::to_string(30000 + std::random_device{}() % 20000);
  auto job = run_command("PATH=" + (dir / "bin").string() + ":$PATH SLURM_JOB_NODELIST=node1 MASTER_PORT=" + port +
                         " bash " + script.string());
  ASSERT_EQ(job.exit_code, 0) << job.output;
  auto launcher = train(recipe, "--nproc-per-node 2" + overrides);
  ASSERT_EQ(launcher.exit_code, 0) << launcher.output;
  expect_close_steps(read_jsonl(dir / "slurm_ckpt/training.jsonl"), read_jsonl(dir / "ckpt/training.jsonl"), 3);
}

// torchrun-style multi-node without Slurm: the same command on each node with --nnodes,
// --node-rank and node 0's --master-addr/--master-port (here two "nodes" on this machine).
TEST(Launcher, TwoNodesOfOneProcessTrainLikeOneNodeOfTwo) {
  TempDir dir;
  auto recipe = write_recipe(dir, kDdp);
  const std::string overrides = " --step_scheduler.max_steps=3 --step_scheduler.local_batch_size=2";
  auto port = std::to_string(30000 + std::random_device{}() % 20000);
  auto node = [&](int rank) {
    return testing::automodel_binary() + " " + recipe + overrides + " --checkpoint.checkpoint_dir=" +
           (dir / "nodes_ckpt").string() + " --nnodes 2 --nproc-per-node 1 --node-rank " + std::to_string(rank) +
           " --master-addr 127.0.0.1 --master-port=" + port;
  };
  auto nodes = run_command("bash -c '" + node(0) + " & P=$!; " + node(1) + "; R=$?; wait $P && exit $R'");
  auto one = train(recipe, "--nproc-per-node 2" + overrides);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  ASSERT_EQ(nodes.exit_code, 0) << nodes.output;
  // Each "node" believes it has the machine's cores to itself: other thread counts, other BLAS
  // summation order, so agreement to rounding rather than bit for bit.
  expect_close_steps(read_jsonl(dir / "nodes_ckpt/training.jsonl"), read_jsonl(dir / "ckpt/training.jsonl"), 3);
  auto bad = run_command(testing::automodel_binary() + " " + recipe + " --nnodes 2 --node-rank 2 --master-port 1");
  EXPECT_NE(bad.output.find("--node-rank must be in [0, --nnodes = 2), found 2"), std::string::npos) << bad.output;
  auto no_port = run_command(testing::automodel_binary() + " " + recipe + " --nnodes 2 --node-rank 1");
  EXPECT_NE(no_port.output.find("needs the same --master-port"), std::string::npos) << no_port.output;
}

// SIGUSR1 (what the batch script asks Slurm to send) checkpoints at the next step boundary and
// exits 0; running again finishes with the uninterrupted losses.
TEST(Slurm, PreemptionSignalCheckpointsAndExitsCleanlyThenResumes) {
  TempDir ref, run;
  const std::string args = "--step_scheduler.max_steps=12 --nproc-per-node 2 --step_scheduler.local_batch_size=2 "
                           "--step_scheduler.preemption_signal=SIGUSR1";
  auto r = train(write_recipe(ref, kDdp), args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto expected = read_jsonl(ref / "ckpt/training.jsonl");
  auto recipe = write_recipe(run, kDdp);
  auto log = (run / "ckpt/training.jsonl").string();
  auto preempted = run_command("bash -c '" + testing::automodel_binary() + " " + recipe + " " + args +
                               " & L=$!; for i in $(seq 600); do [ -s " + log +
                               " ] && break; sleep 0.05; done; kill -USR1 $L; wait $L; echo launcher_exit=$?'");
  EXPECT_NE(preempted.output.find("launcher_exit=0"), std::string::npos) << preempted.output;
  EXPECT_NE(preempted.output.find("preempted: stopped after step"), std::string::npos) << preempted.output;
  auto partial = read_jsonl(log);
  ASSERT_LT(partial.size(), 12u);
  EXPECT_EQ(fs::read_symlink(run / "ckpt/LATEST"), fmt::format("epoch_0_step_{}", partial.size()));
  auto done = train(recipe, args);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  auto got = read_jsonl(log);
  expect_identical_steps(got, expected);
}

}  // namespace
}  // namespace automodel
