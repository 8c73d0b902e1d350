#include "automodel/data/packing.h"

#include "automodel/common/error.h"

namespace automodel::data {
namespace {

void append(TrainingRow& row, const Sample& sample) {
  int32_t document = row.documents.empty() ? 0 : row.documents.back() + 1;
  row.ids.insert(row.ids.end(), sample.ids.begin(), sample.ids.end());
  row.targets.insert(row.targets.end(), sample.targets.begin(), sample.targets.end());
  for (size_t t = 0; t < sample.ids.size(); ++t) {
    row.positions.push_back(static_cast<int32_t>(t));
    row.documents.push_back(document);
  }
}

}  // namespace

TrainingRow to_row(const Sample& sample) {
  TrainingRow row;
  append(row, sample);
  return row;
}

std::vector<TrainingRow> pack_samples(const std::vector<Sample>& samples, int64_t size) {
  std::vector<TrainingRow> rows;
  TrainingRow current;
  for (const auto& sample : samples) {
    AM_CHECK(static_cast<int64_t>(sample.ids.size()) <= size, "[data] a sample of {} tokens does not fit a pack of {}",
             sample.ids.size(), size);
    if (static_cast<int64_t>(current.ids.size() + sample.ids.size()) > size) {
      rows.push_back(std::move(current));
      current = TrainingRow();
    }
    append(current, sample);
  }
  if (!current.ids.empty()) rows.push_back(std::move(current));
  return rows;
}

}  // namespace automodel::data
