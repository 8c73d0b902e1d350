// `automodel slurm recipe.yaml --nodes N --gpus-per-node G [...]`: writes a Slurm batch script
// that starts one task per GPU with `srun` (ranks from SLURM_*, rendezvous at the first node)
// and asks Slurm for the preemption signal ahead of the time limit; `--submit` runs sbatch.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <unistd.h>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/config/recipe_config.h"
#include "commands.h"

namespace fs = std::filesystem;

namespace automodel::cli {
namespace {

struct SlurmArgs {
  std::string recipe, partition, time = "04:00:00", account, job_name, out;
  int nodes = 1, gpus_per_node = 8, master_port = 29500;
  std::string signal = "USR1", signal_lead = "120";
  bool dry_run = false, submit = false;
  std::vector<std::string> overrides;
};

// Single-quoted for bash: 'it'\''s'.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string self_path() {
  std::string path(4096, '\0');
  auto n = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  AM_CHECK(n > 0, "[slurm] cannot find this program's path");
  path.resize(static_cast<size_t>(n));
  return path;
}

std::string make_script(const SlurmArgs& a) {
  std::string s = "#!/bin/bash\n";
  s += fmt::format("#SBATCH --job-name={}\n", a.job_name);
  s += fmt::format("#SBATCH --nodes={}\n#SBATCH --ntasks-per-node={}\n", a.nodes, a.gpus_per_node);
  s += fmt::format("#SBATCH --gpus-per-node={}\n", a.gpus_per_node);
  if (!a.partition.empty()) s += fmt::format("#SBATCH --partition={}\n", a.partition);
  if (!a.account.empty()) s += fmt::format("#SBATCH --account={}\n", a.account);
  s += fmt::format("#SBATCH --time={}\n", a.time);
  // Every task gets the signal this long before the limit: the recipe checkpoints and exits.
  s += fmt::format("#SBATCH --signal={}@{}\n", a.signal, a.signal_lead);
  s += "#SBATCH --output=%x-%j.out\n\n";
  s += "set -euo pipefail\n";
  s += "# Rank 0's node hosts the rendezvous (c10d TCPStore); ranks come from SLURM_PROCID/NTASKS/LOCALID.\n";
  s += "MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)\n";
  s += "export MASTER_ADDR\n";
  s += fmt::format("export MASTER_PORT=\"${{MASTER_PORT:-{}}}\"\n", a.master_port);
  s += "export OMP_WAIT_POLICY=PASSIVE\n\n";
  s += "srun --kill-on-bad-exit=1 " + quote(self_path()) + " " + quote(fs::absolute(a.recipe).string());
  for (const auto& o : a.overrides) s += " " + quote(o);
  s += " " + quote("--step_scheduler.preemption_signal=SIG" + a.signal);
  return s + "\n";
}

int run_slurm(SlurmArgs a) {
  AM_CHECK(a.nodes >= 1 && a.gpus_per_node >= 1, "[slurm] --nodes and --gpus-per-node must be >= 1");
  // The recipe must be valid before anything is queued.
  config::load_recipe(a.recipe, config::parse_override_args(a.overrides));
  if (a.job_name.empty()) a.job_name = fs::path(a.recipe).stem().string();
  auto script = make_script(a);
  if (a.dry_run) {
    fmt::print("{}", script);
    return 0;
  }
  fs::path out = a.out.empty() ? fs::path("slurm_" + a.job_name + ".sh") : fs::path(a.out);
  write_file_atomic(out, script);
  fs::permissions(out, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  log_info("wrote {}", out.string());
  if (!a.submit) return 0;
  int rc = std::system(("sbatch " + quote(out.string())).c_str());
  AM_CHECK(rc == 0, "[slurm] sbatch {} failed (exit status {})", out.string(), rc);
  return 0;
}

}  // namespace

void add_slurm(CLI::App& app, Runner& run) {
  auto a = std::make_shared<SlurmArgs>();
  auto* cmd = app.add_subcommand("slurm", "Write (and --submit) a Slurm batch script running a recipe on many nodes");
  cmd->add_option("recipe", a->recipe, "Recipe YAML")->required();
  cmd->add_option("--nodes", a->nodes)->capture_default_str();
  cmd->add_option("--gpus-per-node", a->gpus_per_node, "Tasks (GPUs) per node")->capture_default_str();
  cmd->add_option("--partition", a->partition);
  cmd->add_option("--account", a->account);
  cmd->add_option("--time", a->time, "Time limit (HH:MM:SS)")->capture_default_str();
  cmd->add_option("--job-name", a->job_name, "Default: the recipe's file name");
  cmd->add_option("--master-port", a->master_port)->capture_default_str();
  cmd->add_option("--signal", a->signal, "Preemption signal Slurm sends before the limit")->capture_default_str();
  cmd->add_option("--signal-lead", a->signal_lead, "Seconds before the limit")->capture_default_str();
  cmd->add_option("--out", a->out, "Script path (default: slurm_<job-name>.sh)");
  cmd->add_flag("--dry-run", a->dry_run, "Print the script instead of writing it");
  cmd->add_flag("--submit", a->submit, "Run sbatch on the written script");
  cmd->add_option("overrides", a->overrides, "Recipe overrides for every task, after `--` (-- --a.b=v ...)");
  cmd->callback([&run, a] { run = [a] { return run_slurm(*a); }; });
}

}  // namespace automodel::cli
