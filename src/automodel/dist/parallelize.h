// The parallel plan, applied from outside the model: activation checkpointing and data
// parallelism (DDP buckets or fsdp2 shards) over the data-parallel group of the device mesh.
// The model code knows nothing of it; the training step and the checkpointer talk to the
// ParallelModel it returns. Tensor and context parallelism will join here as plan steps.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "automodel/dist/mesh.h"
#include "automodel/dist/process_group.h"
#include "automodel/models/common/causal_lm.h"
#include "automodel/train/adamw.h"

namespace automodel::dist {

class FullyShardedModel;

// The recipe's distributed: section, as far as it shapes the model.
struct ParallelPlan {
  std::string strategy = "fsdp2";  // ddp | fsdp2 (with several data-parallel processes)
  bool activation_checkpointing = false;
  bool reshard_after_forward = true;  // fsdp2
  double bucket_cap_mb = 25;          // ddp
};

// The model as trained: what the optimizer updates and the collectives around a step.
class ParallelModel {
 public:
  virtual ~ParallelModel() = default;
  // The tensors the optimizer updates: the trainable parameters, or this rank's fp32 shards.
  virtual std::vector<train::TrainableParameter> trainable() = 0;
  // Around the forward/backward passes of one optimizer step; after end_step() every gradient
  // is the sum over the data-parallel ranks.
  virtual void begin_step() {}
  virtual void before_last_backward() {}
  virtual void end_step() {}
  // Global L2 norm of the gradients before clipping them to `max_norm` (<= 0: no clipping).
  virtual double clip_grad_norm(double max_norm) = 0;
  // Around forwards without gradients (validation).
  virtual void begin_eval() {}
  virtual void end_eval() {}
  // Whether every rank must take part in every forward (fsdp2 gathers layers with all ranks).
  virtual bool forwards_together() const { return false; }
  // Bytes of this rank's parameters and gradients (the optimizer's state is the AdamW's).
  virtual double state_bytes() const = 0;
  // The fsdp2 shards (checkpoints write and read them per rank), or null.
  virtual FullyShardedModel* sharded() { return nullptr; }
  virtual std::string strategy() const = 0;
};

// Applies `plan` to `model` whose trainable parameters are named `trainable` (requires_grad set):
// activation checkpointing, then fsdp2 or DDP over `dp_group` (null: one process). Call it after
// any resumed weights are in the whole model: fsdp2 takes the model's tensors over.
std::unique_ptr<ParallelModel> parallelize(models::CausalLM& model, const ParallelPlan& plan, const DeviceMesh& mesh,
                                           ProcessGroup* dp_group, const std::vector<std::string>& trainable);

}  // namespace automodel::dist
