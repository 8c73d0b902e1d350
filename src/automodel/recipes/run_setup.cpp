#include "automodel/recipes/run_setup.h"

#include <ATen/Context.h>
#include <ATen/ops/tensor.h>

#include <chrono>

#include "automodel/checkpoint/run_dir.h"
#include "automodel/common/error.h"
#include "automodel/common/fnv_hash.h"
#include "automodel/common/logging.h"
#include "automodel/common/string_util.h"

namespace automodel::recipes {
namespace {

// Every rank must run the same recipe (after overrides and ${ENV}): compares a hash of it.
void check_same_recipe(const config::RecipeConfig& c, dist::ProcessGroup& group) {
  Fnv1a hash;
  hash.add(c.tree.dump());
  auto all = group.all_gather(at::tensor({static_cast<int64_t>(hash.h)}, at::kLong));
  std::vector<std::string> differ;
  for (int r = 0; r < group.world_size(); ++r)
    if (all[static_cast<size_t>(r)].item<int64_t>() != all[0].item<int64_t>()) differ.push_back(std::to_string(r));
  AM_CHECK(differ.empty(), "[dist] rank {}: the recipe differs between ranks (rank(s) {} differ from rank 0); every "
           "rank must get the same recipe, overrides and environment", group.rank(), join(differ, ", "));
}

}  // namespace

std::string RunProcesses::report_failure(const std::string& message, bool lost_contact) {
  if (!world) return "";
  world->report_failure(message, lost_contact);
  return lost_contact ? world->explain_lost_ranks(std::chrono::seconds(3)) : "";
}

void join_processes(const config::RecipeConfig& c, train::Precision& precision, RunProcesses& out) {
  out.env = dist::read_dist_env();
  const auto& env = out.env;
  if (env.distributed()) {
    // One GPU per process: local rank r trains on cuda:r (unless the recipe names a device).
    if (precision.device.is_cuda() && c.model.device == "auto")
      precision.device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(
                                                     env.local_rank % std::max<int64_t>(1, at::getNumGPUs())));
    if (precision.device.is_cuda()) out.device_guard.emplace(precision.device);  // for tensors made without one
    out.world = std::make_unique<dist::ProcessGroup>(
        env, std::chrono::milliseconds(static_cast<int64_t>(c.timeout_minutes * 60'000)), precision.device);
    if (env.rank != 0) set_log_level(LogLevel::kWarn);  // one rank logs
    check_same_recipe(c, *out.world);
  }
  for (const auto& note : c.ignored) log_info("{}", note);
  out.mesh.emplace(dist::resolve_mesh_shape(env.world_size, c.dp_size, std::nullopt, 1, 1, c.label), env.rank);
  if (!out.world) return;
  if (out.mesh->dp_size() == env.world_size) {
    out.dp = out.world.get();
  } else {
    out.dp_owned = out.world->subgroup(out.mesh->dp_group_ranks(), "dp");
    out.dp = out.dp_owned.get();
  }
}

std::unique_ptr<checkpoint::CheckpointDirLock> claim_checkpoint_dir(const std::filesystem::path& dir) {
  auto lock = std::make_unique<checkpoint::CheckpointDirLock>(dir);
  if (!lock->taken_over_from().empty())
    log_info("{}: taking over from a run that ended without releasing it ({})", dir.string(), lock->taken_over_from());
  for (const auto& name : checkpoint::remove_abandoned_writes(dir))
    log_info("{}: removed {}, left by a run that died while writing", dir.string(), name);
  return lock;
}

int64_t gradient_accumulation(const config::RecipeConfig& c, int64_t dp_size) {
  const auto& ss = c.step_scheduler;
  AM_CHECK(ss.global_batch_size % (ss.local_batch_size * dp_size) == 0,
           "[config] {}: step_scheduler.global_batch_size ({}) must be a multiple of local_batch_size ({}) x "
           "processes ({})",
           c.label, ss.global_batch_size, ss.local_batch_size, dp_size);
  const int64_t grad_acc = ss.global_batch_size / (ss.local_batch_size * dp_size);
  AM_CHECK(!ss.grad_acc_steps || *ss.grad_acc_steps == grad_acc,
           "[config] {}: step_scheduler.grad_acc_steps is {} but global_batch_size / (local_batch_size x data-parallel "
           "size) = {} / ({} x {}) = {}; remove grad_acc_steps or make them agree",
           c.label, ss.grad_acc_steps.value_or(0), ss.global_batch_size, ss.local_batch_size, dp_size, grad_acc);
  return grad_acc;
}

dist::ParallelPlan parallel_plan(const config::RecipeConfig& c) {
  dist::ParallelPlan plan;
  plan.strategy = c.strategy;
  plan.activation_checkpointing = c.activation_checkpointing;
  plan.reshard_after_forward = c.reshard_after_forward;
  plan.bucket_cap_mb = c.bucket_cap_mb;
  return plan;
}

}  // namespace automodel::recipes
