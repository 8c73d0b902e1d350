#include "automodel/data/sampler.h"

#include "automodel/common/error.h"

namespace automodel::data {

DataParallelSampler::DataParallelSampler(int64_t dp_rank, int64_t dp_size, int64_t grad_acc)
    : dp_rank_(dp_rank), dp_size_(dp_size), grad_acc_(grad_acc) {
  AM_CHECK(dp_size >= 1 && dp_rank >= 0 && dp_rank < dp_size && grad_acc >= 1,
           "[data] sampler: expected 0 <= dp_rank < dp_size and grad_acc >= 1, found rank {} of {}, grad_acc {}",
           dp_rank, dp_size, grad_acc);
}

std::vector<DataPosition> DataParallelSampler::next_step(DataPosition& at, int64_t batches_per_epoch) const {
  if (at.batch + batches_per_step() > batches_per_epoch) {
    ++at.epoch;
    at.batch = 0;
  }
  std::vector<DataPosition> mine;
  for (int64_t i = 0; i < grad_acc_; ++i) mine.push_back({at.epoch, at.batch + i * dp_size_ + dp_rank_});
  at.batch += batches_per_step();
  return mine;
}

std::optional<int64_t> DataParallelSampler::validation_batch(int64_t round, int64_t batches) const {
  const int64_t i = round * dp_size_ + dp_rank_;
  if (i >= batches) return std::nullopt;
  return i;
}

}  // namespace automodel::data
