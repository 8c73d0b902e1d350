// Fully sharded data parallelism (FSDP, ZeRO-3 style) for decoder models: every parameter,
// gradient and optimizer state lives as a 1/N flat shard per rank. Each decoder layer is a unit
// gathered just before its forward. With reshard_after_forward (the default) it is freed after
// its forward and, in backward, gathered again and recomputed (activation checkpointing comes
// with it); otherwise it stays gathered until its backward (more memory, no second all-gather).
// After the layer's backward its gradients are reduced to the shards (reduce-scatter, emulated
// by all-reduce on Gloo) and it is freed. The rest (embeddings, final norm, head) is the root
// unit, gathered for the whole step.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "automodel/dist/process_group.h"
#include "automodel/models/common/causal_lm.h"
#include "automodel/train/adamw.h"

namespace automodel::dist {

struct FsdpOptions {
  bool reshard_after_forward = true;
  bool activation_checkpointing = false;  // only matters without resharding (which recomputes)
};

class FullyShardedModel {
 public:
  // Takes over `model`'s parameters (full on every rank now, shards afterwards). `trainable`
  // names the parameters that get gradients; the others (a LoRA base) are sharded frozen.
  FullyShardedModel(models::CausalLM& model, ProcessGroup& group, const std::vector<std::string>& trainable,
                    FsdpOptions options = {});
  ~FullyShardedModel();

  // The fp32 shards the optimizer updates (names are the HF names).
  std::vector<train::TrainableParameter> trainable_shards();
  void gather_root(bool with_grad);
  // After the step's last backward: reduces the root's gradients into its shards, and leaves no
  // gradient on parameters that no rank used in the whole step.
  void reduce_root_gradients();
  void release_root();
  double clip_grad_norm(double max_norm);  // global norm over all shards
  // Gathers one unit at a time (no grad), calls `fn` with a test for the unit's parameter names,
  // then frees it: the whole model never sits in one rank's memory. Every rank must call it.
  void for_each_unit(const std::function<void(const std::function<bool(const std::string&)>& in_unit)>& fn);
  size_t num_units() const { return layers_.size() + 1; }
  // This rank's trainable shards by HF name (checkpoints: each rank writes its own, no gather).
  std::vector<std::pair<std::string, at::Tensor>> shard_state() const;
  // Restores this rank's trainable shards (as shard_state() returns them).
  void load_shard_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors);
  // The full element count of a parameter (checkpoints re-slice shards saved by other world sizes).
  int64_t numel_of(const std::string& name) const;
  // Bytes of this rank's parameter + gradient shards (optimizer state is the AdamW's).
  double shard_bytes() const;

 private:
  struct Param {
    std::string name;
    at::Tensor* slot;  // the model's tensor: full while gathered, empty otherwise
    std::vector<int64_t> shape;
    int64_t numel = 0, chunk = 0;
    at::Tensor shard;  // (chunk,) this rank's slice of the flat, padded tensor
    bool trainable = false;
  };
  struct Unit {
    std::vector<size_t> params;
    std::vector<std::vector<size_t>> by_dtype;  // params grouped by shard dtype: one all-gather each
    std::vector<size_t> trainable;              // fp32: one all-reduce of gradients
  };
  std::vector<Unit*> all_units();  // root first, then the layers
  void gather(const Unit& unit, bool with_grad);
  void reduce_gradients(const Unit& unit);
  void release(const Unit& unit);
  void drop_unused_gradients();
  std::vector<at::Tensor> run_layer(int64_t index, const models::Block& block, const std::vector<at::Tensor>& inputs);

  models::CausalLM& model_;
  ProcessGroup& group_;
  FsdpOptions options_;
  std::vector<Param> params_;
  std::unordered_map<std::string, size_t> by_name_;  // index into params_
  std::vector<Unit> layers_;
  Unit root_;
  std::vector<std::pair<const Unit*, at::Tensor>> step_used_;  // this step's "ranks with a gradient" counts
};

}  // namespace automodel::dist
