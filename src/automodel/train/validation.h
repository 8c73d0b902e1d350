// Validation loss: the mean token cross-entropy over a whole validation set, each batch taken
// once by one data-parallel rank and the sums agreed over all of them.
#pragma once

#include <cstdint>

#include "automodel/data/loader.h"
#include "automodel/data/sampler.h"
#include "automodel/train/step.h"

namespace automodel::train {

struct ValidationResult {
  double loss = 0;          // mean token loss (0 without label tokens)
  int64_t label_tokens = 0;
};

// Runs the step's model (eval mode, no gradients) over `loader`; back in training mode after.
ValidationResult validate(TrainStep& step, const data::DataLoader& loader, const data::DataParallelSampler& sampler,
                          dist::ProcessGroup* dp_group);

}  // namespace automodel::train
