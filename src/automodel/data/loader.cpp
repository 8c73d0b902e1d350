#include "automodel/data/loader.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "automodel/common/error.h"

namespace automodel::data {

DataLoader::DataLoader(std::vector<TrainingRow> rows, int64_t batch_size, bool shuffle, uint64_t seed, int32_t pad_id,
                       bool drop_last, BatchShape shape, std::shared_ptr<const std::vector<vision::PixelValues>> images)
    : rows_(std::move(rows)), batch_size_(batch_size), shuffle_(shuffle), seed_(seed), pad_id_(pad_id),
      drop_last_(drop_last), shape_(shape), images_(std::move(images)) {
  AM_CHECK(batch_size_ > 0, "[data] batch size must be > 0, found {}", batch_size_);
  AM_CHECK(shape_.multiple > 0, "[data] pad_seq_len_divisible must be > 0, found {}", shape_.multiple);
}

int64_t BatchShape::length_for(int64_t longest) const {
  int64_t n = std::max(longest, min_length);
  return (n + multiple - 1) / multiple * multiple;
}

int64_t DataLoader::batches_per_epoch() const {
  auto n = static_cast<int64_t>(rows_.size());
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

const std::vector<size_t>& DataLoader::order(int64_t epoch) const {
  if (order_epoch_ == epoch) return order_;
  auto& idx = order_;
  idx.resize(rows_.size());
  std::iota(idx.begin(), idx.end(), 0);
  if (shuffle_) {
    // Own Fisher-Yates over a fixed engine: std::shuffle's algorithm differs across libraries.
    std::mt19937_64 rng(seed_ * 1000003ull + static_cast<uint64_t>(epoch));
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[rng() % i]);
  }
  order_epoch_ = epoch;
  return idx;
}

Batch DataLoader::batch(int64_t epoch, int64_t index) const {
  AM_CHECK(index >= 0 && index < batches_per_epoch(), "[data] batch {} is past the epoch ({} batches)", index,
           batches_per_epoch());
  const auto& idx = order(epoch);
  std::vector<const TrainingRow*> rows;
  for (int64_t i = index * batch_size_; i < std::min<int64_t>((index + 1) * batch_size_, idx.size()); ++i)
    rows.push_back(&rows_[idx[static_cast<size_t>(i)]]);
  auto b = collate(rows, pad_id_, shape_);
  for (const auto* row : rows)
    for (auto image : row->images) {
      AM_CHECK(images_ && image < images_->size(), "[data] a row refers to image {} of {}", image,
               images_ ? images_->size() : 0);
      b.images.push_back(&(*images_)[image]);
    }
  return b;
}

Batch collate(const std::vector<const TrainingRow*>& rows, int32_t pad_id, BatchShape shape) {
  Batch b;
  b.rows = static_cast<int64_t>(rows.size());
  for (const auto* r : rows) b.length = std::max<int64_t>(b.length, static_cast<int64_t>(r->ids.size()));
  b.length = shape.length_for(b.length);
  auto n = static_cast<size_t>(b.rows * b.length);
  b.ids.assign(n, pad_id);
  b.targets.assign(n, kIgnore);
  b.positions.assign(n, 0);
  b.documents.assign(n, 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = *rows[r];
    size_t base = r * static_cast<size_t>(b.length), len = row.ids.size();
    std::copy(row.ids.begin(), row.ids.end(), b.ids.begin() + static_cast<long>(base));
    std::copy(row.targets.begin(), row.targets.end(), b.targets.begin() + static_cast<long>(base));
    std::copy(row.positions.begin(), row.positions.end(), b.positions.begin() + static_cast<long>(base));
    std::copy(row.documents.begin(), row.documents.end(), b.documents.begin() + static_cast<long>(base));
    int32_t pad_doc = len ? row.documents.back() + 1 : 0;
    // Padding sits after every real position of its row (masks compare positions), in a
    // document of its own: no real token can attend to it.
    for (size_t t = len; t < static_cast<size_t>(b.length); ++t) {
      b.positions[base + t] = static_cast<int32_t>(t);
      b.documents[base + t] = pad_doc;
    }
    b.real_tokens += static_cast<int64_t>(len);
    b.row_lengths.push_back(static_cast<int32_t>(len));
    if (len && row.documents.back() > 0) b.packed = true;
  }
  for (auto t : b.targets) b.target_tokens += t != kIgnore;
  return b;
}

}  // namespace automodel::data
