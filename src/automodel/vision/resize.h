// The two resamplers HF image processors run, reimplemented on 8-bit images: Pillow's
// Image.resize (the PIL backends) and torchvision's resize of a uint8 tensor with antialias
// (the default torchvision backends of transformers 5). Both are separable convolutions in
// fixed point, width first, on 8-bit intermediates; they differ in weight precision and in how
// the filter is evaluated, so they can differ by 1 in a pixel.
#pragma once

#include <cstdint>
#include <string>

#include "automodel/vision/image.h"

namespace automodel::vision {

enum class Filter { kNearest, kBox, kBilinear, kHamming, kBicubic, kLanczos };

// PIL.Image.Resampling's numbers, as preprocessor_config.json's "resample" holds them
// (0 NEAREST, 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING); `where` names the field.
Filter filter_from_pil_code(int64_t code, const std::string& where);
std::string filter_name(Filter filter);

// Pillow's Image.resize(size, filter) of an L/RGB image: bilinear, bicubic (a = -0.5) and
// lanczos (3 lobes), antialiased when shrinking, 22-bit weights; width first, as libImaging's
// Resample.c does. Pillow 13 runs some two-axis resizes height first, by a rule we have not
// found; `height_first` computes that order (its result then equals Pillow's).
Image resize_pillow(const Image& image, int64_t width, int64_t height, Filter filter, bool height_first = false);

// torchvision.transforms.v2.functional.resize(uint8, antialias=True) on a CPU with AVX2, which
// runs PyTorch's native uint8 kernel: bilinear, bicubic (a = -0.5) and lanczos (3 lobes), 16-bit
// weights with a per-axis precision. (transformers maps LANCZOS to it on torchvision >= 0.27, and
// to bicubic before.)
Image resize_torchvision(const Image& image, int64_t width, int64_t height, Filter filter);

}  // namespace automodel::vision
