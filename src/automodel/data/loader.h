// Batches for the step loop. Stateless by design: batch (epoch, index) is a pure function of the
// seed, so the dataloader's checkpointed state is just (epoch, next batch) and a resumed run
// sees exactly the batches an uninterrupted one would.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "automodel/data/sample.h"
#include "automodel/vision/image_processor.h"

namespace automodel::data {

// Row-major (rows, length) arrays; rows shorter than `length` are padded at the end with
// `pad_id`, target kIgnore, positions after the row's own and a document of their own.
struct Batch {
  int64_t rows = 0, length = 0;
  std::vector<int32_t> ids, targets, positions, documents;
  std::vector<int32_t> row_lengths;  // real (unpadded) tokens per row; padding follows them
  int64_t target_tokens = 0;  // targets != kIgnore
  int64_t real_tokens = 0;    // not padding
  bool packed = false;        // some row holds more than one document
  // A VLM batch's images, row after row in token order (owned by the loader).
  std::vector<const vision::PixelValues*> images;
};

// How long a batch is beyond its longest row (AutoModel's padding: max_length and
// pad_seq_len_divisible): at least `min_length`, rounded up to a multiple of `multiple`.
struct BatchShape {
  int64_t min_length = 0;
  int64_t multiple = 1;
  int64_t length_for(int64_t longest) const;
};

class DataLoader {
 public:
  // `images`: what the rows' image indices refer to (a VLM dataset's preprocessed images).
  DataLoader(std::vector<TrainingRow> rows, int64_t batch_size, bool shuffle, uint64_t seed, int32_t pad_id,
             bool drop_last, BatchShape shape = {},
             std::shared_ptr<const std::vector<vision::PixelValues>> images = nullptr);
  int64_t batches_per_epoch() const;
  Batch batch(int64_t epoch, int64_t index) const;
  size_t num_rows() const { return rows_.size(); }

 private:
  // The epoch's row order, computed once per epoch (not once per batch).
  const std::vector<size_t>& order(int64_t epoch) const;
  std::vector<TrainingRow> rows_;
  int64_t batch_size_;
  bool shuffle_;
  uint64_t seed_;
  int32_t pad_id_;
  bool drop_last_;
  BatchShape shape_;
  std::shared_ptr<const std::vector<vision::PixelValues>> images_;
  mutable int64_t order_epoch_ = -1;
  mutable std::vector<size_t> order_;
};

Batch collate(const std::vector<const TrainingRow*>& rows, int32_t pad_id, BatchShape shape = {});

}  // namespace automodel::data
