// Image processors read from a model folder's preprocessor_config.json and computed as
// transformers 5 computes them: convert to RGB, resize (shortest edge or fixed size), centre
// crop, rescale and normalise into float32 channels-first pixel values. The backend is the one
// AutoImageProcessor picks by default (torchvision), or PIL's when asked. Families: CLIP (and
// LLaVA, which uses it) and SigLIP; other image_processor_types are an error naming them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "automodel/vision/image.h"
#include "automodel/vision/resize.h"

namespace automodel::vision {

enum class Backend { kTorchvision, kPil };

struct ImageProcessorConfig {
  std::string type;  // image_processor_type, e.g. "CLIPImageProcessor"
  Backend backend = Backend::kTorchvision;
  bool do_convert_rgb = true, do_resize = true, do_center_crop = false, do_rescale = true, do_normalize = true;
  std::optional<int64_t> shortest_edge;  // size: {"shortest_edge": n} (or a bare int where the class means that)
  int64_t height = 0, width = 0;         // size: {"height", "width"}
  int64_t crop_height = 0, crop_width = 0;
  Filter resample = Filter::kBicubic;
  double rescale_factor = 1.0 / 255;
  std::vector<double> image_mean, image_std;
};

// `json`: preprocessor_config.json's text; keys it lacks take the class's defaults. Errors name
// `where` and the field.
ImageProcessorConfig parse_image_processor_config(const std::string& json, const std::string& where);
ImageProcessorConfig read_image_processor_config(const std::filesystem::path& model_dir);

struct PixelValues {
  int64_t channels = 0, height = 0, width = 0;
  std::vector<float> values;  // channels x height x width
};

PixelValues preprocess(const ImageProcessorConfig& config, const Image& image);

}  // namespace automodel::vision
