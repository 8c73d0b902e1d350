// Data parallelism over a process group: gradients summed across ranks in flat buckets of at
// most `bucket_cap_mb` (the loss is already divided by the global label-token count, so the sum
// is the global gradient). Called once per optimizer step, never on accumulation micro-steps.
#pragma once

#include <vector>

#include "automodel/dist/process_group.h"
#include "automodel/train/adamw.h"

namespace automodel::dist {

void all_reduce_gradients(ProcessGroup& group, const std::vector<train::TrainableParameter>& params,
                          double bucket_cap_mb);

}  // namespace automodel::dist
