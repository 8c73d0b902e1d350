// One tokenized training document and the rows the model sees (packed or not). Targets are
// already shifted: targets[t] is the token to predict after ids[t], or kIgnore.
#pragma once

#include <cstdint>
#include <vector>

namespace automodel::data {

inline constexpr int32_t kIgnore = -100;

struct Sample {
  std::vector<int32_t> ids;
  std::vector<int32_t> targets;  // same length as ids
};

// targets[t] = ids[t + 1] where `supervised[t + 1]`, else kIgnore (the last one is kIgnore).
Sample make_sample(std::vector<int32_t> ids, const std::vector<uint8_t>& supervised);
int64_t count_targets(const Sample& sample);

// What the model consumes: one or more documents laid end to end.
struct TrainingRow {
  std::vector<int32_t> ids, targets;
  std::vector<int32_t> positions;  // restart at 0 for every document
  std::vector<int32_t> documents;  // document index within the row
  std::vector<uint32_t> images;    // a VLM row's images (indices into its loader's), in token order
};

}  // namespace automodel::data
