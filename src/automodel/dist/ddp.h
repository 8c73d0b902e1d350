// Data parallelism over a process group, as torch DDP: on the optimizer step's last micro-batch,
// each parameter's accumulated gradient lands in a flat bucket (at most `bucket_cap_mb`, in
// reverse parameter order, the order backward produces them) from an autograd hook, and a full
// bucket is all-reduced asynchronously while backward goes on. finish() waits and writes the
// summed gradients back (the loss is divided by the global label-token count, so the sum is the
// global gradient). Accumulation micro-batches never communicate.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "automodel/dist/process_group.h"
#include "automodel/train/adamw.h"

namespace automodel::dist {

class GradientSynchronizer {
 public:
  GradientSynchronizer(ProcessGroup& group, std::vector<train::TrainableParameter> params, double bucket_cap_mb);
  ~GradientSynchronizer();
  // Arms the hooks for the next backward (the step's last micro-batch).
  void begin_sync();
  // After that backward: reduces what the hooks have not (unused parameters), waits for every
  // bucket and replaces each parameter's gradient by the sum over ranks (a parameter no rank
  // used keeps no gradient, so the optimizer skips it as it would in one process).
  void finish();

 private:
  struct Bucket;
  void on_gradient(size_t param, const at::Tensor& grad);
  void launch_ready_buckets();
  void launch(Bucket& bucket);
  ProcessGroup& group_;
  std::vector<train::TrainableParameter> params_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  struct Slot {
    size_t bucket;
    int64_t offset;  // of its gradient in the bucket
    int64_t index;   // among the bucket's parameters
  };
  std::vector<Slot> where_;  // by parameter
  bool armed_ = false;
  size_t next_launch_ = 0;  // buckets before it are all-reducing
};

}  // namespace automodel::dist
