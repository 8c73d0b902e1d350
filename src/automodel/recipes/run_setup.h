// What every training recipe sets up the same way before its own wiring: the processes
// (device per local rank, process group, the same recipe on every rank), the device mesh and
// its data-parallel group, and the gradient accumulation the batch sizes imply.
#pragma once

#include <c10/core/DeviceGuard.h>

#include <memory>
#include <optional>

#include "automodel/checkpoint/dir_lock.h"
#include "automodel/config/recipe_config.h"
#include "automodel/dist/dist_env.h"
#include "automodel/dist/mesh.h"
#include "automodel/dist/parallelize.h"
#include "automodel/dist/process_group.h"
#include "automodel/train/precision.h"

namespace automodel::recipes {

struct RunProcesses {
  dist::DistEnv env;
  std::unique_ptr<dist::ProcessGroup> world;  // null in one process
  std::unique_ptr<dist::ProcessGroup> dp_owned;  // a sub-group when the mesh has more than dp
  dist::ProcessGroup* dp = nullptr;              // the data-parallel group (null in one process)
  std::optional<dist::DeviceMesh> mesh;
  std::optional<c10::DeviceGuard> device_guard;

  bool leader() const { return env.rank == 0; }
  int64_t world_size() const { return env.world_size; }
  // Multi-process runs: tells the other ranks why this one stops; after a lost collective,
  // returns what is known of the rank(s) that went away ("" in a single process).
  std::string report_failure(const std::string& message, bool lost_contact);
};

// Joins the other processes (when launched as several) and lays out the mesh. With several
// processes on GPUs and model.device auto, local rank r moves `precision` to cuda:r. Ranks other
// than 0 log warnings only. Prints the recipe's "no effect here" notes once.
void join_processes(const config::RecipeConfig& config, train::Precision& precision, RunProcesses& out);

// One run per checkpoint_dir (rank 0 holds the lock for the run): fails at once when another run
// holds it or it cannot be written, and removes what a run that died while writing left there.
std::unique_ptr<checkpoint::CheckpointDirLock> claim_checkpoint_dir(const std::filesystem::path& dir);

// Micro-batches per rank per optimizer step: global_batch_size / (local_batch_size x dp size),
// checked against step_scheduler.grad_acc_steps when the recipe sets it.
int64_t gradient_accumulation(const config::RecipeConfig& config, int64_t dp_size);

dist::ParallelPlan parallel_plan(const config::RecipeConfig& config);

}  // namespace automodel::recipes
