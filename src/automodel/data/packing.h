// Packing: documents laid end to end in rows of at most `size` tokens, in dataset order (first
// fit into the current row). Each row keeps per-document positions and document indices, so
// the model attends only within a document and positions restart, as if unpacked.
#pragma once

#include <vector>

#include "automodel/data/sample.h"

namespace automodel::data {

TrainingRow to_row(const Sample& sample);
// Every sample must be at most `size` tokens (the dataset builder rejects longer ones).
std::vector<TrainingRow> pack_samples(const std::vector<Sample>& samples, int64_t size);

}  // namespace automodel::data
