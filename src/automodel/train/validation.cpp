#include "automodel/train/validation.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/tensor.h>

namespace automodel::train {

ValidationResult validate(TrainStep& step, const data::DataLoader& loader, const data::DataParallelSampler& sampler,
                          dist::ProcessGroup* dp_group) {
  auto& model = step.model();
  auto& parallel = step.parallel();
  at::NoGradGuard no_grad;
  model.set_training(false);
  parallel.begin_eval();
  double total = 0;
  int64_t tokens = 0;
  const int64_t batches = loader.batches_per_epoch();
  for (int64_t round = 0; round < sampler.validation_rounds(batches); ++round) {
    auto mine = sampler.validation_batch(round, batches);
    if (!mine && !parallel.forwards_together()) break;
    // A rank past the last batch runs batch 0 once more for the collectives and ignores it.
    auto b = loader.batch(0, mine.value_or(0));
    auto loss = step.forward_loss(b).token_sum.item<double>();
    if (!mine) continue;
    total += loss;
    tokens += b.target_tokens;
  }
  parallel.end_eval();
  if (dp_group) {
    auto sums = at::tensor({total, static_cast<double>(tokens)}, at::kDouble);
    dp_group->all_reduce_sum(sums);
    total = sums[0].item<double>();
    tokens = static_cast<int64_t>(sums[1].item<double>());
  }
  model.set_training(true);
  return {tokens ? total / static_cast<double>(tokens) : 0.0, tokens};
}

}  // namespace automodel::train
