#include "automodel/models/vision/image_inputs.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/tensor.h>

#include "automodel/common/error.h"

namespace automodel::models {

void put_images(const std::vector<const vision::PixelValues*>& images, c10::Device device, ModelInputs& inputs) {
  if (images.empty()) return;
  const bool patch_rows = images.front()->shape.size() == 2, frames = images.front()->shape.size() == 4;
  std::vector<at::Tensor> tensors;
  std::vector<int64_t> grid;
  for (const auto* p : images) {
    AM_CHECK(p->shape.size() == images.front()->shape.size(),
             "images of one batch must all be (C, H, W), all frames (F, C, H, W) or all patch rows");
    // from_blob borrows; stack/cat copy before the caller's images can go away.
    tensors.push_back(at::from_blob(const_cast<float*>(p->values.data()), p->shape, at::TensorOptions().dtype(at::kFloat)));
    grid.insert(grid.end(), p->grid_thw.begin(), p->grid_thw.end());
  }
  inputs.pixel_values = (patch_rows || frames ? at::cat(tensors, 0) : at::stack(tensors, 0)).to(device);
  if (patch_rows) inputs.image_grid_thw = at::tensor(grid, at::kLong).view({-1, 3}).to(device);
}

}  // namespace automodel::models
