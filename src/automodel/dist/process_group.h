// A c10d process group (NCCL on CUDA, Gloo on CPU) joined through a TCPStore at
// MASTER_ADDR:MASTER_PORT, with the few collectives training needs. c10d headers stay in the .cpp.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "automodel/common/error.h"
#include "automodel/dist/dist_env.h"

namespace automodel::dist {

// A collective that failed: usually another rank died or stopped answering.
class CollectiveError : public Error {
 public:
  using Error::Error;
};

// An in-flight collective; wait() blocks until its result is in the tensor.
class PendingReduce {
 public:
  virtual ~PendingReduce() = default;
  virtual void wait() = 0;
};

// Whether this build has NCCL process groups (built against a CUDA LibTorch, as scripts/setup.sh does).
bool nccl_available();
// The NCCL version this build's LibTorch uses ("2.27.3"), or "" without NCCL.
std::string nccl_version();

class ProcessGroup {
 public:
  // Blocks until every rank has joined or `timeout` passes (an error naming the master address).
  // Collectives run on `device`: NCCL for CUDA, Gloo for CPU. Tensors elsewhere (small CPU
  // counters under NCCL) are copied there and back.
  ProcessGroup(const DistEnv& env, std::chrono::milliseconds timeout, c10::Device device = c10::Device(c10::kCPU));
  ~ProcessGroup();
  // A group over `ranks` (global ranks, this one among them; a row of the device mesh) on the
  // same rendezvous store. Every member calls it with the same ranks and name.
  std::unique_ptr<ProcessGroup> subgroup(const std::vector<int64_t>& ranks, const std::string& name);
  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }

  void all_reduce_sum(at::Tensor& tensor);  // in place
  // Starts the sum; collectives complete in the order they were started, on every rank.
  std::unique_ptr<PendingReduce> all_reduce_sum_async(at::Tensor& tensor);
  // Every rank's copy of `tensor` (same shape on all ranks), in rank order.
  std::vector<at::Tensor> all_gather(const at::Tensor& tensor);
  void barrier();

  // Failure reports through the rendezvous store, so that a rank whose collective failed can
  // say which rank went away and why. report_failure: this rank's error (best effort);
  // `lost_contact`: it is a CollectiveError (this rank is a victim, not the cause).
  void report_failure(const std::string& message, bool lost_contact);
  // After a CollectiveError: what the other ranks reported within `grace`, or that a rank said
  // nothing (killed, out of memory) — one line naming each such rank.
  std::string explain_lost_ranks(std::chrono::milliseconds grace);

 private:
  struct Impl;
  ProcessGroup(DistEnv env, std::unique_ptr<Impl> impl);
  DistEnv env_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace automodel::dist
