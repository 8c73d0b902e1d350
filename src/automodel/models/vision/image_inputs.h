// Preprocessed images (vision::PixelValues, as the image processor gives them) as a VLM's inputs.
#pragma once

#include <vector>

#include "automodel/models/common/causal_lm.h"
#include "automodel/vision/image_processor.h"

namespace automodel::models {

// Sets inputs.pixel_values: (images, C, H, W) when every image has the same size (fixed-resolution
// processors), their frames one after another (Idefics3's tiles: (frames, C, H, W)), or their
// patch rows one after another with image_grid_thw (Qwen2-VL). No images: nothing changes.
void put_images(const std::vector<const vision::PixelValues*>& images, c10::Device device, ModelInputs& inputs);

}  // namespace automodel::models
