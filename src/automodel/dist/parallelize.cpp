#include "automodel/dist/parallelize.h"

#include "automodel/common/error.h"
#include "automodel/dist/ddp.h"
#include "automodel/dist/fsdp.h"

namespace automodel::dist {
namespace {

std::vector<train::TrainableParameter> requiring_grad(const models::CausalLM& model) {
  std::vector<train::TrainableParameter> out;
  for (const auto& p : model.named_parameters())
    if (p.tensor->requires_grad()) out.push_back({p.name, p.tensor});
  return out;
}

double bytes_of(const std::vector<train::TrainableParameter>& params) {
  double bytes = 0;
  for (const auto& p : params) bytes += static_cast<double>(p.tensor->nbytes());
  return bytes;
}

// Whole parameters on this rank (one process, or DDP replicas).
class ReplicatedModel : public ParallelModel {
 public:
  ReplicatedModel(models::CausalLM& model, ProcessGroup* group, double bucket_cap_mb)
      : model_(model), params_(requiring_grad(model)) {
    if (group) ddp_ = std::make_unique<GradientSynchronizer>(*group, params_, bucket_cap_mb);
  }
  std::vector<train::TrainableParameter> trainable() override { return params_; }
  void before_last_backward() override {
    if (ddp_) ddp_->begin_sync();  // accumulation micro-batches never communicate
  }
  void end_step() override {
    if (ddp_) ddp_->finish();
  }
  double clip_grad_norm(double max_norm) override { return train::clip_grad_norm(params_, max_norm); }
  double state_bytes() const override {
    double bytes = bytes_of(params_);
    for (const auto& p : model_.named_parameters()) bytes += static_cast<double>(p.tensor->nbytes());
    return bytes;
  }
  std::string strategy() const override { return ddp_ ? "ddp" : "single process"; }

 private:
  models::CausalLM& model_;
  std::vector<train::TrainableParameter> params_;
  std::unique_ptr<GradientSynchronizer> ddp_;
};

class ShardedModel : public ParallelModel {
 public:
  ShardedModel(models::CausalLM& model, ProcessGroup& group, const std::vector<std::string>& trainable,
               const ParallelPlan& plan)
      : fsdp_(model, group, trainable, FsdpOptions{plan.reshard_after_forward, plan.activation_checkpointing}) {}
  std::vector<train::TrainableParameter> trainable() override { return fsdp_.trainable_shards(); }
  void begin_step() override { fsdp_.gather_root(/*with_grad=*/true); }
  void end_step() override {
    fsdp_.reduce_root_gradients();
    fsdp_.release_root();
  }
  double clip_grad_norm(double max_norm) override { return fsdp_.clip_grad_norm(max_norm); }
  void begin_eval() override { fsdp_.gather_root(false); }
  void end_eval() override { fsdp_.release_root(); }
  bool forwards_together() const override { return true; }
  double state_bytes() const override { return fsdp_.shard_bytes(); }
  FullyShardedModel* sharded() override { return &fsdp_; }
  std::string strategy() const override { return "fsdp2"; }

 private:
  FullyShardedModel fsdp_;
};

}  // namespace

std::unique_ptr<ParallelModel> parallelize(models::CausalLM& model, const ParallelPlan& plan, const DeviceMesh& mesh,
                                           ProcessGroup* dp_group, const std::vector<std::string>& trainable) {
  AM_CHECK(mesh.shape().tp == 1 && mesh.shape().cp == 1,
           "[dist] tensor and context parallelism are not supported yet (mesh tp {} cp {})", mesh.shape().tp,
           mesh.shape().cp);
  AM_CHECK(!dp_group || dp_group->world_size() == mesh.dp_size(),
           "[dist] the data-parallel group has {} ranks, the mesh says {}", dp_group ? dp_group->world_size() : 1,
           mesh.dp_size());
  model.set_activation_checkpointing(plan.activation_checkpointing);
  if (dp_group && plan.strategy == "fsdp2") return std::make_unique<ShardedModel>(model, *dp_group, trainable, plan);
  return std::make_unique<ReplicatedModel>(model, dp_group, plan.bucket_cap_mb);
}

}  // namespace automodel::dist
