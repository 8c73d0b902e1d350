// Image processors read from a model folder's preprocessor_config.json and computed as
// transformers 5 computes them: convert to RGB, resize (shortest edge or fixed size), centre
// crop, rescale and normalise into float32 channels-first pixel values, or, for Qwen2-VL, resize to
// a multiple of the patch grid within a pixel budget and flatten into rows of patches. The backend
// is the one AutoImageProcessor picks by default (torchvision), or PIL's when asked. Families:
// CLIP (and LLaVA, which uses it), SigLIP, Gemma 3 (without pan-and-scan), Qwen2-VL (Qwen2.5-VL
// uses it too) and Idefics3/SmolVLM (the longest edge resized, then tiles of the encoder's size
// plus the whole image); other image_processor_types are an error naming them.
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
  // Qwen2-VL: patches of patch_size, merged merge_size x merge_size, repeated temporal_patch_size
  // times; the resized image keeps min_pixels..max_pixels pixels (0: not a patch processor).
  int64_t patch_size = 0, temporal_patch_size = 0, merge_size = 0, min_pixels = 0, max_pixels = 0;
  // Idefics3/SmolVLM: the longest edge resized to `longest_edge` (size), then, with
  // do_image_splitting, to multiples of `tile_size` (max_image_size) cut into tile_size squares
  // followed by the whole image at tile_size; without it, straight to one tile_size square.
  int64_t longest_edge = 0, tile_size = 0;
  bool do_image_splitting = false;
  // PIL backend: bit i set resamples the pipeline's i-th resize height first (see resize_pillow;
  // Pillow 13 picks the order itself, per resize).
  uint32_t pil_height_first = 0;
};

// Every field of `config` as text: what a preprocessed image depends on besides its bytes (the
// key of cached pixel values). Keep it in step with the struct.
std::string fingerprint(const ImageProcessorConfig& config);

// `json`: preprocessor_config.json's text; keys it lacks take the class's defaults. Errors name
// `where` and the field.
ImageProcessorConfig parse_image_processor_config(const std::string& json, const std::string& where);
ImageProcessorConfig read_image_processor_config(const std::filesystem::path& model_dir);

struct PixelValues {
  // (3, height, width); Qwen2-VL: (patches, 3 x temporal x patch x patch); Idefics3: (frames, 3,
  // tile, tile).
  std::vector<int64_t> shape;
  std::vector<float> values;
  std::vector<int64_t> grid_thw;  // Qwen2-VL's image_grid_thw row: (1, height / patch, width / patch)
  std::vector<int64_t> tiles;     // Idefics3's (rows, cols) of tiles before the whole image; (0, 0): one frame
};

// Qwen2-VL's smart_resize: (height, width) rounded to multiples of `factor`, then scaled into
// [min_pixels, max_pixels] keeping the aspect ratio; an aspect ratio over 200 is an error.
std::pair<int64_t, int64_t> smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels,
                                         int64_t max_pixels);

PixelValues preprocess(const ImageProcessorConfig& config, const Image& image);

}  // namespace automodel::vision
