// Which batches of a loader each data-parallel rank takes, so any number of processes (and any
// split into micro-batches) sees the same global batches: rank r of d takes every d-th batch.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace automodel::data {

// Where the training loop stands in the data: the epoch of the next batch and its index there.
struct DataPosition {
  int64_t epoch = 0;
  int64_t batch = 0;
};

class DataParallelSampler {
 public:
  // `grad_acc`: micro-batches per rank per optimizer step.
  DataParallelSampler(int64_t dp_rank, int64_t dp_size, int64_t grad_acc);

  // Local batches all ranks consume together in one optimizer step.
  int64_t batches_per_step() const { return grad_acc_ * dp_size_; }
  // Full optimizer steps an epoch of `batches_per_epoch` local batches gives (the rest is dropped).
  int64_t steps_per_epoch(int64_t batches_per_epoch) const { return batches_per_epoch / batches_per_step(); }

  // This rank's micro-batches of the step that starts at `at`, moving `at` past the step's
  // batches of every rank. A step never straddles epochs: when the rest of the epoch cannot fill
  // it, the step starts the next epoch.
  std::vector<DataPosition> next_step(DataPosition& at, int64_t batches_per_epoch) const;

  // Validation: every batch once over all ranks, in rounds of dp_size batches. This rank's batch
  // of `round`, or nullopt past the last one (the round's collectives still need the rank under
  // fsdp2, which then runs a throwaway batch).
  int64_t validation_rounds(int64_t batches) const { return (batches + dp_size_ - 1) / dp_size_; }
  std::optional<int64_t> validation_batch(int64_t round, int64_t batches) const;

  int64_t dp_rank() const { return dp_rank_; }
  int64_t dp_size() const { return dp_size_; }

 private:
  int64_t dp_rank_, dp_size_, grad_acc_;
};

}  // namespace automodel::data
