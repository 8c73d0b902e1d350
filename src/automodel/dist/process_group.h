// A c10d process group (Gloo on CPU) joined through a TCPStore at MASTER_ADDR:MASTER_PORT, with
// the few collectives training needs. c10d headers stay in the .cpp.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <memory>
#include <vector>

#include "automodel/dist/dist_env.h"

namespace automodel::dist {

// An in-flight collective; wait() blocks until its result is in the tensor.
class PendingReduce {
 public:
  virtual ~PendingReduce() = default;
  virtual void wait() = 0;
};

class ProcessGroup {
 public:
  // Blocks until every rank has joined or `timeout` passes (an error naming the master address).
  ProcessGroup(const DistEnv& env, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }

  void all_reduce_sum(at::Tensor& tensor);  // in place
  // Starts the sum; collectives complete in the order they were started, on every rank.
  std::unique_ptr<PendingReduce> all_reduce_sum_async(at::Tensor& tensor);
  // Every rank's copy of `tensor` (same shape on all ranks), in rank order.
  std::vector<at::Tensor> all_gather(const at::Tensor& tensor);
  void barrier();

 private:
  DistEnv env_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace automodel::dist
